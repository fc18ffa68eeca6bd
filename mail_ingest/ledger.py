"""The database side of one mailbox pass: its position, what is already recorded, failures.

Everything a group of messages needs to know is read in one query per kind (recorded UIDs,
known identities, failure counts); the inbound record and the position are written in the
group's transaction.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from mail_ingest.fetched import headers_best_effort
from mail_ingest.mailboxes import MailboxTarget
from mail_ingest.message import ParsedMail
from ticketing.models import InboundMessage, MailboxState, MailFailure, utcnow

log = logging.getLogger(__name__)

Identity = tuple[str, str]  # (Message-ID cut to the column's size, sha256 of the raw bytes)


class DatabaseUnavailable(Exception):
    """The database failed under us; the pass ends for this mailbox, the next run resumes."""


def identity(message_id: str | None, sha: str) -> Identity:
    return (message_id or "")[:500], sha


class Ledger:
    def __init__(self, session: Session, target: MailboxTarget):
        self.session, self.target = session, target
        self.key = target.key
        self.uidvalidity = 0
        # For the current group: identity → status, for the identities already looked up.
        self.identities: dict[Identity, str | None] = {}
        self.failures: dict[int, MailFailure] = {}

    # -- position ---------------------------------------------------------------------------

    def open(self, uidvalidity: int) -> int:
        """The last UID dealt with; reset to 0 when the server renumbered (UIDVALIDITY)."""
        self.uidvalidity = uidvalidity
        state = self.session.get(MailboxState, self.key)
        if state is None:
            state = MailboxState(mailbox_key=self.key, commune_id=self.target.ctx.commune_id,
                                 uidvalidity=uidvalidity, last_uid=0)
            self.session.add(state)
        if state.uidvalidity != uidvalidity:
            log.info("%s: UIDVALIDITY %s → %s, rescanning", self.key, state.uidvalidity,
                     uidvalidity)
            state.uidvalidity, state.last_uid = uidvalidity, 0
        last_uid = state.last_uid
        self.commit()
        return last_uid

    def save_position(self, last_uid: int) -> None:
        """In the group's transaction: the position moves with what it covers."""
        self.session.execute(update(MailboxState).where(MailboxState.mailbox_key == self.key)
                             .values(last_uid=last_uid, updated_at=utcnow()))

    # -- what is already known --------------------------------------------------------------

    def recorded_statuses(self, uids: list[int]) -> dict[int, str]:
        """Status of the UIDs recorded under this UIDVALIDITY."""
        if not uids:
            return {}
        return dict(self.session.execute(select(InboundMessage.uid, InboundMessage.status).where(
            InboundMessage.mailbox_key == self.key,
            InboundMessage.uidvalidity == self.uidvalidity,
            InboundMessage.uid.in_(uids))).all())

    def look_up_identities(self, keys: list[Identity]) -> None:
        """Load the statuses of these identities (unique index prefix: commune, Message-ID)."""
        wanted = {key for key in keys if key not in self.identities}
        if not wanted:
            return
        rows = self.session.execute(select(
            InboundMessage.message_id, InboundMessage.raw_sha256, InboundMessage.status,
        ).where(InboundMessage.commune_id == self.target.ctx.commune_id,
                InboundMessage.message_id.in_({m for m, _ in wanted}),
                InboundMessage.raw_sha256.in_({s for _, s in wanted})))
        found = {(message_id, sha): status for message_id, sha, status in rows}
        for key in wanted:
            self.identities[key] = found.get(key)

    def status_of(self, key: Identity) -> str | None:
        self.look_up_identities([key])
        return self.identities[key]

    # -- failures ---------------------------------------------------------------------------

    def load_failures(self, uids: list[int]) -> None:
        self.failures = {} if not uids else {
            failure.uid: failure for failure in self.session.scalars(select(MailFailure).where(
                MailFailure.mailbox_key == self.key,
                MailFailure.uidvalidity == self.uidvalidity, MailFailure.uid.in_(uids)))}

    def count_failure(self, uid: int, error: str) -> int:
        """One more failed attempt at ``uid``; returns the attempts so far."""
        failure = self.failures.get(uid)
        if failure is None:
            failure = MailFailure(mailbox_key=self.key, uidvalidity=self.uidvalidity, uid=uid,
                                  attempts=0)
            self.session.add(failure)
            self.failures[uid] = failure
        failure.attempts += 1
        failure.last_error = error
        return failure.attempts

    def forget_failures(self, uid: int) -> None:
        """Inside the SAVEPOINT that records the message: gone with it, back if it fails."""
        failure = self.failures.get(uid)
        if failure is not None:
            self.session.delete(failure)

    # -- writing ----------------------------------------------------------------------------

    def record(self, uid: int, raw: bytes, sha: str, mail: ParsedMail | None, status: str,
               reason: str, decision: str = "", ticket_id: int | None = None,
               attempts: int = 1) -> None:
        """Add the inbound record (its unique keys make the processing happen once)."""
        from_address, subject = (mail.from_address or "", mail.subject) if mail else \
            headers_best_effort(raw)
        self.session.add(InboundMessage(
            commune_id=self.target.ctx.commune_id, mailbox_key=self.key,
            uidvalidity=self.uidvalidity, uid=uid,
            message_id=(mail.message_id or "")[:500] if mail else "",
            raw_sha256=sha, raw_size=len(raw), from_address=from_address[:254],
            subject=subject[:300], status=status, decision=str(decision), reason=reason,
            attempts=attempts, ticket_id=ticket_id, received_at=utcnow()))
        self.forget_failures(uid)

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError:
            raise
        except DBAPIError as exc:
            safe_rollback(self.session)
            raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc


def safe_rollback(session: Session) -> None:
    try:
        session.rollback()
    except DBAPIError:
        pass
