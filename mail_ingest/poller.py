"""One pass over every mailbox: fetch → parse → decide → apply, each mail exactly once.

Messages go by small groups, one transaction per group and a SAVEPOINT per message: each
message's ticket or reply, raw .eml and inbound record (unique by mailbox+UIDVALIDITY+UID
and by Message-ID+sha256) commit together with the mailbox position, and the group's
messages are moved out of the inbox only after that commit. A crash anywhere leaves either
unrecorded messages (processed again) or recorded ones still in the inbox (just moved).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from mail_ingest.apply import DatabaseThreadLookup, SentCounts, apply_decision
from mail_ingest.decide import decide
from mail_ingest.imap import FETCH_BATCH, ImapUnavailable, MailboxConnection
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

# Messages per transaction. Each group costs one COMMIT and one IMAP MOVE, so a larger group
# is faster; a smaller one redoes less work after a crash and holds SQLite's single writer
# lock for less time (a group of 10 takes a few tens of milliseconds).
GROUP = 10


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


class _Item:
    """A fetched message: its bytes (None when too large to fetch) and what parsing made."""

    def __init__(self, uid: int, raw: bytes | None):
        self.uid, self.raw = uid, raw
        self.sha = hashlib.sha256(raw).hexdigest() if raw is not None else ""
        self.mail: ParsedMail | None = None
        self.error: Exception | None = None

    def parse(self, own_addresses: frozenset[str]) -> None:
        if self.raw is None:
            return
        try:
            self.mail = parse_mail(self.raw, own_addresses, LOOP_HEADER)
        except Exception as exc:  # noqa: BLE001 - MailUnreadable, or a parser bug: this mail's
            self.error = exc


class _Group:
    """What transactions did: moved and counted only once they committed."""

    def __init__(self) -> None:
        self.moves: dict[str, list[int]] = {}
        self.processed = self.duplicates = self.quarantined = self.failed = 0

    def move(self, uid: int, folder: str) -> None:
        self.moves.setdefault(folder, []).append(uid)

    def add(self, other: _Group) -> None:
        for folder, uids in other.moves.items():
            self.moves.setdefault(folder, []).extend(uids)
        self.processed += other.processed
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.failed += other.failed


class _Pass:
    """One run over one mailbox, holding its lock.

    Messages are fetched by FETCH_BATCH and handled by groups of GROUP: one transaction per
    group, a SAVEPOINT per message (a bad one rolls back alone). Once the batch's groups have
    committed, its messages are moved with one IMAP MOVE per target folder. What a group
    needs to know (recorded UIDs, known identities, failure counts) is read in one query
    each, and the senders' acknowledgement counts in one query per batch.
    """

    def __init__(self, session: Session, target: MailboxTarget, mail_dir: Path,
                 report: MailboxReport, lease: Lease):
        self.session, self.target, self.mail_dir = session, target, mail_dir
        self.report, self.lease = report, lease
        self.mailbox = target.mailbox
        self.blocked = False  # a message failed: the position must not pass it
        self.imap: MailboxConnection | None = None
        self.uidvalidity = 0
        self.last_uid = 0
        self.saved_uid = 0
        # Per group: (Message-ID, sha256) → status, for the identities already looked up.
        self.identities: dict[tuple[str, str], str | None] = {}
        self.failures: dict[int, MailFailure] = {}
        self.sent = SentCounts(session, target.ctx.commune_id)

    def run(self, password: str) -> None:
        started = time.monotonic()
        with MailboxConnection(self.mailbox, password) as imap:
            self.imap, self.uidvalidity = imap, imap.uidvalidity
            self.last_uid = self.saved_uid = self._position()
            uids = imap.uids_after(0)
            # At or below the position and still here: recorded but not moved (a crash or a
            # disconnect after the commit) — moved now, unread — or failed earlier.
            leftovers = self._move_recorded([uid for uid in uids if uid <= self.last_uid])
            uids = leftovers + [uid for uid in uids if uid > self.last_uid]
            todo, self.report.left = (uids[:self.mailbox.max_messages_per_run],
                                      max(0, len(uids) - self.mailbox.max_messages_per_run))
            own_addresses = self.target.own_addresses
            for start in range(0, len(todo), FETCH_BATCH):
                batch = todo[start:start + FETCH_BATCH]
                small = {s.uid for s in imap.sizes(batch) if s.size <= self.target.max_bytes}
                raws = dict(imap.fetch_raw([uid for uid in batch if uid in small]))
                # Oversized: no bytes (only their header is read); gone meanwhile: skipped.
                items = [_Item(uid, raws.pop(uid, None)) for uid in batch
                         if uid in raws or uid not in small]
                for item in items:
                    item.parse(own_addresses)
                self.sent = SentCounts(self.session, self.target.ctx.commune_id)
                self.sent.load([item.mail.from_address for item in items if item.mail and
                                item.mail.from_address and item.mail.automatic is None])
                done = _Group()
                for first in range(0, len(items), GROUP):
                    done.add(self._group(items[first:first + GROUP]))
                    self.lease.renew()
                del raws, items
                self._move_and_count(done)
                if time.monotonic() - started > self.mailbox.max_seconds_per_run:
                    self.report.left += len(todo) - start - len(batch)
                    break

    # -- position ---------------------------------------------------------------------------

    def _position(self) -> int:
        """The last UID dealt with; reset to 0 when the server renumbered (UIDVALIDITY)."""
        state = self.session.get(MailboxState, self.target.key)
        if state is None:
            state = MailboxState(mailbox_key=self.target.key,
                                 commune_id=self.target.ctx.commune_id,
                                 uidvalidity=self.uidvalidity, last_uid=0)
            self.session.add(state)
        if state.uidvalidity != self.uidvalidity:
            log.info("%s: UIDVALIDITY %s → %s, rescanning", self.target.key, state.uidvalidity,
                     self.uidvalidity)
            state.uidvalidity, state.last_uid = self.uidvalidity, 0
        last_uid = state.last_uid
        self._commit()
        return last_uid

    def _advance(self, uid: int) -> None:
        if not self.blocked:
            self.last_uid = max(self.last_uid, uid)

    def _save_position(self) -> None:
        """In the group's transaction: the position moves with what it covers."""
        if self.last_uid != self.saved_uid:
            self.session.execute(update(MailboxState).where(
                MailboxState.mailbox_key == self.target.key,
            ).values(last_uid=self.last_uid, updated_at=utcnow()))

    # -- one group, one transaction ---------------------------------------------------------

    def _group(self, items: list[_Item]) -> _Group:
        """One transaction; returns what it did, to be moved and counted by the caller."""
        group = _Group()
        recorded = self._recorded_statuses([item.uid for item in items])
        todo = []
        for item in items:
            if item.uid in recorded:  # committed, then the move did not happen: move it
                self._move_done(group, item.uid, recorded[item.uid])
            else:
                todo.append(item)
        self._look_up_identities([(item.mail.message_id or "", item.sha) for item in todo
                                  if item.mail is not None and item.raw is not None])
        self.failures = self._failure_rows([item.uid for item in todo])
        for item in todo:
            if item.raw is None:
                self._too_large(group, item.uid)
            else:
                self._one(group, item)
        self._save_position()
        self._commit()
        self.saved_uid = self.last_uid
        self.identities.clear()
        return group

    def _move_and_count(self, done: _Group) -> None:
        """After the commit only: a message leaves the inbox once it is recorded."""
        assert self.imap is not None
        for folder, moved in done.moves.items():
            self.imap.move(moved, folder)
        report = self.report
        report.processed += done.processed
        report.duplicates += done.duplicates
        report.quarantined += done.quarantined
        report.failed += done.failed

    def _one(self, group: _Group, item: _Item) -> None:
        uid, raw, sha, mail, error = item.uid, item.raw or b"", item.sha, item.mail, item.error
        if isinstance(error, MailUnreadable):
            self._quarantine(group, uid, raw, sha, None, f"illisible : {error}", attempts=1)
            return
        if mail is None:
            self._failed(group, uid, raw, sha, None, error or RuntimeError("parse"))
            return
        if self._duplicate_of(group, mail.message_id or "", sha, uid):
            return
        try:
            with self.session.begin_nested():
                applied = self._ingest(uid, raw, sha, mail)
        except (OperationalError, DatabaseUnavailable, ImapUnavailable):
            raise
        except IntegrityError as exc:
            self.sent.forget()  # the SAVEPOINT took back what it had queued
            # Another transaction recorded it first (identity or UID): it is done.
            status = self._recorded_statuses([uid]).get(uid)
            if status is not None:
                self._move_done(group, uid, status)
                return
            self.identities.pop(((mail.message_id or "")[:500], sha), None)  # look again
            if not self._duplicate_of(group, mail.message_id or "", sha, uid):
                self._failed(group, uid, raw, sha, mail, exc)
            return
        except Exception as exc:  # noqa: BLE001 - one bad message never stops the loop
            self.sent.forget()
            self._failed(group, uid, raw, sha, mail, exc)
            return
        self.identities[((mail.message_id or "")[:500], sha)] = InboundStatus.PROCESSED
        self._advance(uid)
        group.move(uid, self.mailbox.processed_folder)
        group.processed += 1
        log.debug("%s uid %s: %s", self.target.key, uid, applied)

    def _ingest(self, uid: int, raw: bytes, sha: str, mail: ParsedMail) -> str:
        """Inside the message's SAVEPOINT: ticket or reply, raw .eml, inbound record."""
        ctx = self.target.ctx
        decision = decide(mail, ctx.commune_id, DatabaseThreadLookup(self.session, ctx.commune_id),
                          ctx.signing_key)
        store_bytes(self.mail_dir, raw)
        applied = apply_decision(self.session, ctx, self.mailbox, mail, decision,
                                 sent=self.sent)
        self.session.add(self._record(uid, raw, sha, mail, InboundStatus.PROCESSED,
                                      reason=applied.summary, decision=decision.kind,
                                      ticket_id=applied.ticket_id))
        self._forget_failures(uid)
        return applied.summary

    # -- what is already known, one query per group -----------------------------------------

    def _recorded_statuses(self, uids: list[int]) -> dict[int, str]:
        """Status of the UIDs recorded under this UIDVALIDITY."""
        if not uids:
            return {}
        return dict(self.session.execute(select(InboundMessage.uid, InboundMessage.status).where(
            InboundMessage.mailbox_key == self.target.key,
            InboundMessage.uidvalidity == self.uidvalidity,
            InboundMessage.uid.in_(uids))).all())

    def _move_recorded(self, uids: list[int]) -> list[int]:
        """Move the recorded ones among ``uids`` (by chunks); return the others."""
        others: list[int] = []
        for start in range(0, len(uids), 500):
            chunk = uids[start:start + 500]
            group = _Group()
            recorded = self._recorded_statuses(chunk)
            self._commit()
            for uid in chunk:
                if uid in recorded:
                    self._move_done(group, uid, recorded[uid])
                else:
                    others.append(uid)
            self._move_and_count(group)
        return others

    def _look_up_identities(self, keys: list[tuple[str, str]]) -> None:
        """Load the statuses of these (Message-ID, sha256) identities (unique index prefix:
        commune, Message-ID)."""
        keys = [(message_id[:500], sha) for message_id, sha in keys]
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

    def _duplicate_of(self, group: _Group, message_id: str, sha: str, uid: int) -> bool:
        """The same mail (same Message-ID and bytes) was recorded before: move it, no more."""
        key = (message_id[:500], sha)
        self._look_up_identities([key])
        status = self.identities[key]
        if status is None:
            return False
        self._advance(uid)
        self._move_done(group, uid, status)
        return True

    def _move_done(self, group: _Group, uid: int, status: str) -> None:
        folder = (self.mailbox.quarantine_folder if status == InboundStatus.QUARANTINED
                  else self.mailbox.processed_folder)
        group.move(uid, folder)
        group.duplicates += 1

    def _failure_rows(self, uids: list[int]) -> dict[int, MailFailure]:
        if not uids:
            return {}
        return {failure.uid: failure for failure in self.session.scalars(select(MailFailure).where(
            MailFailure.mailbox_key == self.target.key,
            MailFailure.uidvalidity == self.uidvalidity, MailFailure.uid.in_(uids)))}

    # -- failures and quarantine ------------------------------------------------------------

    def _failed(self, group: _Group, uid: int, raw: bytes, sha: str, mail: ParsedMail | None,
                exc: Exception) -> None:
        """Count the attempt (committed with the group, the message's SAVEPOINT is gone);
        quarantine after max_attempts, else leave it in the inbox and hold the position."""
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("%s uid %s: %s", self.target.key, uid, error)
        failure = self.failures.get(uid)
        if failure is None:
            failure = MailFailure(mailbox_key=self.target.key, uidvalidity=self.uidvalidity,
                                  uid=uid, attempts=0)
            self.session.add(failure)
            self.failures[uid] = failure
        failure.attempts += 1
        failure.last_error = error
        attempts = failure.attempts
        if attempts >= self.mailbox.max_attempts:
            self._quarantine(group, uid, raw, sha, mail,
                             f"échec après {attempts} tentatives : {error}", attempts=attempts)
        else:
            self.blocked = True
            group.failed += 1

    def _quarantine(self, group: _Group, uid: int, raw: bytes, sha: str,
                    mail: ParsedMail | None, reason: str, attempts: int,
                    tell_sender: bool = False) -> None:
        message_id = (mail.message_id if mail is not None else None) or ""
        if self._duplicate_of(group, message_id, sha, uid):
            return
        with self.session.begin_nested():
            if tell_sender and mail is not None:
                self._tell_too_large(mail)
            store_bytes(self.mail_dir, raw)
            self.session.add(self._record(uid, raw, sha, mail, InboundStatus.QUARANTINED,
                                          reason=reason, attempts=attempts))
            self._forget_failures(uid)
        self.identities[(message_id[:500], sha)] = InboundStatus.QUARANTINED
        self._advance(uid)
        group.move(uid, self.mailbox.quarantine_folder)
        group.quarantined += 1

    def _too_large(self, group: _Group, uid: int) -> None:
        """Quarantined unread (only its header is fetched and kept); the sender is told."""
        header = self.imap.fetch_header(uid) if self.imap else None
        if header is None:
            return
        sha = hashlib.sha256(header).hexdigest()
        try:
            mail: ParsedMail | None = parse_mail(header, self.target.own_addresses, LOOP_HEADER)
        except Exception:  # noqa: BLE001 - the header is only used to say who to tell
            mail = None
        self._quarantine(group, uid, header, sha, mail, f"trop volumineux (plus de "
                         f"{self.mailbox.max_message_mb:g} Mo) ; seul l'en-tête est conservé "
                         "ici, le message est dans le dossier de quarantaine", attempts=1,
                         tell_sender=True)

    def _tell_too_large(self, mail: ParsedMail) -> None:
        if mail.automatic is None and mail.from_address and \
                self.sent.count(mail.from_address) < self.mailbox.ack_cap_per_hour:
            self.sent.queued(mail.from_address)
            enqueue_mail(self.session, self.target.ctx.commune_id, "mail_rejected",
                         mail.from_address, f"Message non traité : {mail.subject}"[:300],
                         _too_large_text(self.target.ctx, mail.subject,
                                         self.mailbox.max_message_mb),
                         headers={"Auto-Submitted": "auto-replied"})

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
        """Inside the SAVEPOINT that records the message: gone with it, back if it fails."""
        failure = self.failures.get(uid)
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
