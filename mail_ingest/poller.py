"""One pass over every mailbox: fetch → parse → decide → apply, each mail exactly once.

Per message, one transaction holds the ticket or reply, the inbound record (unique by
mailbox+UIDVALIDITY+UID and by Message-ID+sha256) and the mailbox position; the message is
moved out of the inbox only after that commit. A crash anywhere leaves either an
unrecorded message (processed again) or a recorded one still in the inbox (just moved).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from mail_ingest.apply import DatabaseThreadLookup, apply_decision, sender_over_cap
from mail_ingest.decide import decide
from mail_ingest.imap import ImapUnavailable, MailboxConnection
from mail_ingest.locks import Lease, mailbox_lock
from mail_ingest.mailboxes import MailboxMisconfigured, MailboxTarget, mailbox_targets
from mail_ingest.message import MailUnreadable, ParsedMail
from mail_ingest.parse import parse_mail
from ticketing.models import InboundMessage, InboundStatus, MailboxState, MailFailure, utcnow
from ticketing.operations.attachments import store_bytes
from ticketing.operations.context import CommuneContext
from ticketing.operations.outbox import LOOP_HEADER, enqueue_mail
from ticketing.tenancy import scoped_to

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database failed under us; the pass ends for this mailbox, the next run resumes."""


@dataclass
class MailboxReport:
    key: str
    processed: int = 0
    duplicates: int = 0  # already recorded (a crash between commit and move): only moved
    quarantined: int = 0
    failed: int = 0  # failed this time, left in the inbox for the next run
    left: int = 0  # not reached because of the per-run caps
    locked: bool = False  # another poller holds this mailbox
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0

    def summary(self) -> str:
        if self.error:
            return f"{self.key}: ERROR {self.error}"
        if self.locked:
            return f"{self.key}: skipped, another poller holds it"
        text = (f"{self.key}: {self.processed} processed, {self.duplicates} already done, "
                f"{self.quarantined} quarantined, {self.failed} failed")
        return text + (f", {self.left} left for the next run" if self.left else "")


@dataclass
class PollReport:
    mailboxes: list[MailboxReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.mailboxes)


def poll_all(session: Session, contexts: Iterable[CommuneContext], mail_dir: Path) -> PollReport:
    """One pass over every mailbox of every commune; one mailbox's failure stops no other."""
    report = PollReport()
    for target in mailbox_targets(contexts):
        report.mailboxes.append(poll_mailbox(session, target, mail_dir))
    return report


def poll_mailbox(session: Session, target: MailboxTarget, mail_dir: Path) -> MailboxReport:
    report = MailboxReport(target.key)
    try:
        password = target.password()
        with mailbox_lock(session, target.key) as lease:
            if lease is None:
                report.locked = True
                return report
            with scoped_to(session, target.ctx.commune_id):
                _Pass(session, target, mail_dir, report, lease).run(password)
    except MailboxMisconfigured as exc:
        report.error = str(exc)
    except ImapUnavailable as exc:
        report.error = f"IMAP: {exc}"
    except (DatabaseUnavailable, DBAPIError) as exc:
        report.error = f"database: {exc}".splitlines()[0]
        _safe_rollback(session)
    if report.error:
        log.warning("mail poll %s", report.summary())
    return report


class _Pass:
    """One run over one mailbox, holding its lock."""

    def __init__(self, session: Session, target: MailboxTarget, mail_dir: Path,
                 report: MailboxReport, lease: Lease):
        self.session, self.target, self.mail_dir = session, target, mail_dir
        self.report, self.lease = report, lease
        self.mailbox = target.mailbox
        self.blocked = False  # a message failed: the position must not pass it
        self.imap: MailboxConnection | None = None
        self.uidvalidity = 0

    def run(self, password: str) -> None:
        started = time.monotonic()
        with MailboxConnection(self.mailbox, password) as imap:
            self.imap, self.uidvalidity = imap, imap.uidvalidity
            last_uid = self._position()
            uids = imap.uids_after(0)
            # At or below the position and still here: recorded but not moved (a crash or a
            # disconnect after the commit) — moved now, unread — or failed earlier.
            leftovers = [uid for uid in uids if uid <= last_uid]
            uids = [uid for uid in leftovers if not self._already_recorded(uid)] + \
                [uid for uid in uids if uid > last_uid]
            todo, self.report.left = (uids[:self.mailbox.max_messages_per_run],
                                      max(0, len(uids) - self.mailbox.max_messages_per_run))
            for start in range(0, len(todo), 50):
                batch = todo[start:start + 50]
                small = [s.uid for s in imap.sizes(batch) if s.size <= self.target.max_bytes]
                for uid in batch:
                    if uid not in small:
                        self._too_large(uid)
                for uid, raw in imap.fetch_raw(small):
                    self._one(uid, raw)
                    self.lease.renew()
                if time.monotonic() - started > self.mailbox.max_seconds_per_run:
                    self.report.left += len(todo) - start - len(batch)
                    break

    # -- position ---------------------------------------------------------------------------

    def _position(self) -> int:
        """The last UID dealt with; reset to 0 when the server renumbered (UIDVALIDITY)."""
        state = self._state()
        if state.uidvalidity != self.uidvalidity:
            log.info("%s: UIDVALIDITY %s → %s, rescanning", self.target.key, state.uidvalidity,
                     self.uidvalidity)
            state.uidvalidity, state.last_uid = self.uidvalidity, 0
        last_uid = state.last_uid
        self._commit()
        return last_uid

    def _state(self) -> MailboxState:
        state = self.session.get(MailboxState, self.target.key)
        if state is None:
            state = MailboxState(mailbox_key=self.target.key,
                                 commune_id=self.target.ctx.commune_id,
                                 uidvalidity=self.uidvalidity, last_uid=0)
            self.session.add(state)
        return state

    def _advance(self, uid: int) -> None:
        if not self.blocked:
            state = self._state()
            state.last_uid = max(state.last_uid, uid)

    # -- one message ------------------------------------------------------------------------

    def _one(self, uid: int, raw: bytes) -> None:
        sha = hashlib.sha256(raw).hexdigest()
        if self._already_recorded(uid):
            return
        try:
            mail = parse_mail(raw, self.target.own_addresses, LOOP_HEADER)
        except MailUnreadable as exc:
            self._quarantine(uid, raw, sha, None, f"illisible : {exc}", attempts=1)
            return
        except Exception as exc:  # noqa: BLE001 - a parser bug is this message's failure
            self._failed(uid, raw, sha, None, exc)
            return
        if self._duplicate_of(mail.message_id or "", sha, uid):
            return
        try:
            self._ingest(uid, raw, sha, mail)
        except (OperationalError, DatabaseUnavailable):
            raise
        except IntegrityError as exc:
            # Another transaction recorded it first (identity or UID): it is done.
            _safe_rollback(self.session)
            if not (self._already_recorded(uid) or self._duplicate_of(mail.message_id or "",
                                                                       sha, uid)):
                self._failed(uid, raw, sha, mail, exc)
        except ImapUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad message never stops the loop
            _safe_rollback(self.session)
            self._failed(uid, raw, sha, mail, exc)

    def _ingest(self, uid: int, raw: bytes, sha: str, mail: ParsedMail) -> None:
        ctx = self.target.ctx
        decision = decide(mail, ctx.commune_id, DatabaseThreadLookup(self.session, ctx.commune_id),
                          ctx.signing_key)
        store_bytes(self.mail_dir, raw)
        applied = apply_decision(self.session, ctx, self.mailbox, mail, decision)
        self.session.add(self._record(uid, raw, sha, mail, InboundStatus.PROCESSED,
                                      reason=applied.summary, decision=decision.kind,
                                      ticket_id=applied.ticket_id))
        self._forget_failures(uid)
        self._advance(uid)
        self._commit()
        self._move(uid, self.mailbox.processed_folder)
        self.report.processed += 1

    def _already_recorded(self, uid: int) -> bool:
        """Recorded under this very UID (committed, then the move did not happen): move it."""
        status = self.session.scalar(select(InboundMessage.status).where(
            InboundMessage.mailbox_key == self.target.key,
            InboundMessage.uidvalidity == self.uidvalidity, InboundMessage.uid == uid))
        self._commit()
        if status is None:
            return False
        self._move_done(uid, status)
        return True

    def _duplicate_of(self, message_id: str, sha: str, uid: int) -> bool:
        """The same mail (same Message-ID and bytes) was recorded before: move it, no more."""
        status = self.session.scalar(select(InboundMessage.status).where(
            InboundMessage.commune_id == self.target.ctx.commune_id,
            InboundMessage.message_id == message_id[:500], InboundMessage.raw_sha256 == sha))
        if status is None:
            self._commit()
            return False
        self._advance(uid)
        self._commit()
        self._move_done(uid, status)
        return True

    def _move_done(self, uid: int, status: str) -> None:
        folder = (self.mailbox.quarantine_folder if status == InboundStatus.QUARANTINED
                  else self.mailbox.processed_folder)
        self._move(uid, folder)
        self.report.duplicates += 1

    # -- failures and quarantine ------------------------------------------------------------

    def _failed(self, uid: int, raw: bytes, sha: str, mail: ParsedMail | None,
                exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("%s uid %s: %s", self.target.key, uid, error)
        failure = self.session.get(MailFailure, (self.target.key, self.uidvalidity, uid))
        if failure is None:
            failure = MailFailure(mailbox_key=self.target.key, uidvalidity=self.uidvalidity,
                                  uid=uid, attempts=0)
            self.session.add(failure)
        failure.attempts += 1
        failure.last_error = error
        attempts = failure.attempts
        self._commit()
        if attempts >= self.mailbox.max_attempts:
            self._quarantine(uid, raw, sha, mail, f"échec après {attempts} tentatives : {error}",
                             attempts=attempts)
        else:
            self.blocked = True
            self.report.failed += 1

    def _quarantine(self, uid: int, raw: bytes, sha: str, mail: ParsedMail | None,
                    reason: str, attempts: int) -> None:
        message_id = mail.message_id if mail is not None else None
        if self._duplicate_of(message_id or "", sha, uid):
            return
        store_bytes(self.mail_dir, raw)
        self.session.add(self._record(uid, raw, sha, mail, InboundStatus.QUARANTINED,
                                      reason=reason, attempts=attempts))
        self._forget_failures(uid)
        self._advance(uid)
        self._commit()
        self._move(uid, self.mailbox.quarantine_folder)
        self.report.quarantined += 1

    def _too_large(self, uid: int) -> None:
        """Quarantined unread (only its header is fetched and kept); the sender is told."""
        if self._already_recorded(uid):
            return
        header = self.imap.fetch_header(uid) if self.imap else None
        if header is None:
            return
        sha = hashlib.sha256(header).hexdigest()
        try:
            mail: ParsedMail | None = parse_mail(header, self.target.own_addresses, LOOP_HEADER)
        except Exception:  # noqa: BLE001 - the header is only used to say who to tell
            mail = None
        limit = self.mailbox.max_message_mb
        if mail is not None and mail.automatic is None and mail.from_address and \
                not sender_over_cap(self.session, self.target.ctx, self.mailbox,
                                    mail.from_address):
            enqueue_mail(self.session, self.target.ctx.commune_id, "mail_rejected",
                         mail.from_address, f"Message non traité : {mail.subject}"[:300],
                         _too_large_text(self.target.ctx, mail.subject, limit),
                         headers={"Auto-Submitted": "auto-replied"})
        self._quarantine(uid, header, sha, mail, f"trop volumineux (plus de {limit:g} Mo) ; "
                         "seul l'en-tête est conservé ici, le message est dans le dossier de "
                         "quarantaine", attempts=1)

    # -- helpers ----------------------------------------------------------------------------

    def _record(self, uid: int, raw: bytes, sha: str, mail: ParsedMail | None, status: str,
                reason: str, decision: str = "", ticket_id: int | None = None,
                attempts: int = 1) -> InboundMessage:
        from_address, subject = (mail.from_address or "", mail.subject) if mail else \
            _headers_best_effort(raw)
        return InboundMessage(
            commune_id=self.target.ctx.commune_id, mailbox_key=self.target.key,
            uidvalidity=self.uidvalidity, uid=uid,
            message_id=(mail.message_id or "")[:500] if mail else "",
            raw_sha256=sha, raw_size=len(raw), from_address=from_address[:254],
            subject=subject[:300], status=status, decision=str(decision), reason=reason,
            attempts=attempts, ticket_id=ticket_id, received_at=utcnow())

    def _forget_failures(self, uid: int) -> None:
        failure = self.session.get(MailFailure, (self.target.key, self.uidvalidity, uid))
        if failure is not None:
            self.session.delete(failure)

    def _commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError:
            raise
        except DBAPIError as exc:
            _safe_rollback(self.session)
            raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc

    def _move(self, uid: int, folder: str) -> None:
        assert self.imap is not None
        self.imap.move(uid, folder)


def _too_large_text(ctx: CommuneContext, subject: str, limit_mb: float) -> str:
    commune = ctx.config.commune
    return (f"Bonjour,\n\nVotre message « {subject} » dépasse la taille maximale de "
            f"{limit_mb:g} Mo acceptée par la mairie de {commune.name} : il n'a pas été "
            "enregistré comme demande.\n\nMerci de nous écrire de nouveau avec des pièces "
            f"jointes plus légères, ou de passer par le formulaire en ligne : "
            f"{commune.public_url.rstrip('/')}/{ctx.config.slug}/demande\n\n"
            f"Mairie de {commune.name}\n{commune.phone}\n")


def _headers_best_effort(raw: bytes) -> tuple[str, str]:
    try:
        headers = BytesHeaderParser().parsebytes(raw[:65536])
        return str(headers.get("From", "") or ""), str(headers.get("Subject", "") or "")
    except Exception:  # noqa: BLE001 - only for display in the quarantine list
        return "", ""


def _safe_rollback(session: Session) -> None:
    try:
        session.rollback()
    except DBAPIError:
        pass
