"""One run over one mailbox, holding its lock: fetch by batches, handle by groups.

Messages are fetched by FETCH_BATCH and handled by groups of GROUP: one transaction per
group. A group is first run without SAVEPOINTs, its new requests going through the intake
use case in one batch (one query per kind and one flush for the group, instead of a dozen
statements per mail); if any of its messages fails, the transaction is rolled back and the
group is run again with a SAVEPOINT per message, so the bad one rolls back alone. Once the
batch's groups have committed, its messages are moved with one IMAP MOVE per target folder.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from mail_ingest.apply import DatabaseThreadLookup, SentCounts, apply_decision, open_tickets
from mail_ingest.decide import decide
from mail_ingest.fetched import FetchedMail, parse_header_only
from mail_ingest.imap import FETCH_BATCH, ImapUnavailable, MailboxConnection
from mail_ingest.ledger import DatabaseUnavailable, Ledger, identity
from mail_ingest.locks import Lease
from mail_ingest.mailboxes import MailboxTarget
from mail_ingest.message import Decision, DecisionKind, MailUnreadable, ParsedMail
from mail_ingest.rejection import tell_too_large
from mail_ingest.reports import MailboxReport, Outcome
from ticketing.models import InboundStatus
from ticketing.operations.attachments import store_bytes

log = logging.getLogger(__name__)

_OPENS_TICKET = (DecisionKind.NEW_TICKET, DecisionKind.FOLLOW_UP)

# Messages per transaction (and per intake batch). Each group costs a fixed set of queries,
# one COMMIT and one IMAP MOVE, so a larger group is faster: on 2 cores, 10 gave about 285
# mails per CPU-second and 50 about 450 (100 no more). A smaller one redoes less work after
# a crash and holds the locks for less time: SQLite's single writer lock, and on PostgreSQL
# the commune's audit chain head, which every agent's action also takes. A group of 50
# holds them for a little over 0.1 s.
GROUP = 50


class _Isolate(Exception):
    """A message failed in a group run without SAVEPOINTs: run the group again with them."""


@dataclass
class _NewRequest:
    """A mail of a group run without SAVEPOINTs that opens a ticket: opened with the others
    at the end of the group."""

    uid: int
    raw: bytes
    sha: str
    mail: ParsedMail
    decision: Decision


class MailboxPass:
    def __init__(self, session: Session, target: MailboxTarget, mail_dir: Path,
                 report: MailboxReport, lease: Lease):
        self.session, self.target, self.mail_dir = session, target, mail_dir
        self.report, self.lease = report, lease
        self.mailbox = target.mailbox
        self.ledger = Ledger(session, target)
        self.blocked = False  # a message failed: the position must not pass it
        self.isolated = False  # this group runs with a SAVEPOINT per message
        self.imap: MailboxConnection | None = None
        self.last_uid = 0
        self.saved_uid = 0
        self.sent = SentCounts(session, target.ctx.commune_id)
        self.new_requests: list[_NewRequest] = []

    def run(self, password: str) -> None:
        started = time.monotonic()
        with MailboxConnection(self.mailbox, password) as imap:
            self.imap = imap
            self.last_uid = self.saved_uid = self.ledger.open(imap.uidvalidity)
            uids = imap.uids_after(0)
            # At or below the position and still here: recorded but not moved (a crash or a
            # disconnect after the commit) — moved now, unread — or failed earlier.
            leftovers = self._move_recorded([uid for uid in uids if uid <= self.last_uid])
            uids = leftovers + [uid for uid in uids if uid > self.last_uid]
            todo, self.report.left = (uids[:self.mailbox.max_messages_per_run],
                                      max(0, len(uids) - self.mailbox.max_messages_per_run))
            for start in range(0, len(todo), FETCH_BATCH):
                batch = todo[start:start + FETCH_BATCH]
                self._batch(batch)
                if time.monotonic() - started > self.mailbox.max_seconds_per_run:
                    self.report.left += len(todo) - start - len(batch)
                    break

    def _batch(self, batch: list[int]) -> None:
        assert self.imap is not None
        small = {s.uid for s in self.imap.sizes(batch) if s.size <= self.target.max_bytes}
        raws = dict(self.imap.fetch_raw([uid for uid in batch if uid in small]))
        # Oversized: no bytes (only their header is read); gone meanwhile: skipped.
        items = [FetchedMail(uid, raws.pop(uid, None)) for uid in batch
                 if uid in raws or uid not in small]
        for item in items:
            item.parse(self.target.own_addresses)
        self.sent = SentCounts(self.session, self.target.ctx.commune_id)
        self.sent.load([item.mail.from_address for item in items if item.mail and
                        item.mail.from_address and item.mail.automatic is None])
        done = Outcome()
        for first in range(0, len(items), GROUP):
            done.add(self._group(items[first:first + GROUP]))
            self.lease.renew()
        del raws, items
        self._move_and_count(done)

    # -- one group, one transaction ---------------------------------------------------------

    def _group(self, items: list[FetchedMail]) -> Outcome:
        """One transaction; returns what it did, to be moved and counted by the caller."""
        mark = self.last_uid, self.blocked
        try:
            return self._group_run(items, isolated=False)
        except _Isolate as failed:
            log.info("%s: %s, group run again one message at a time", self.target.key,
                     failed.__cause__)
            self.session.rollback()
            self.last_uid, self.blocked = mark
            self.sent.forget()
            self.ledger.identities.clear()
            self.new_requests.clear()
            return self._group_run(items, isolated=True)

    def _group_run(self, items: list[FetchedMail], isolated: bool) -> Outcome:
        self.isolated = isolated
        group = Outcome()
        recorded = self.ledger.recorded_statuses([item.uid for item in items])
        todo = []
        for item in items:
            if item.uid in recorded:  # committed, then the move did not happen: move it
                self._move_done(group, item.uid, recorded[item.uid])
            else:
                todo.append(item)
        self.ledger.look_up_identities([identity(item.mail.message_id, item.sha) for item in todo
                                        if item.mail is not None and item.raw is not None])
        self.ledger.load_failures([item.uid for item in todo])
        for item in todo:
            if isolated:
                self._handle(group, item)
            else:
                self._or_isolate(self._handle, group, item)
        if not isolated:
            self._or_isolate(self._open_new_tickets)
            self._or_isolate(self.session.flush)  # the last message's rows are pending
        if self.last_uid != self.saved_uid:
            self.ledger.save_position(self.last_uid)
        self.ledger.commit()
        self.saved_uid = self.last_uid
        self.ledger.identities.clear()
        return group

    def _move_and_count(self, done: Outcome) -> None:
        """After the commit only: a message leaves the inbox once it is recorded."""
        assert self.imap is not None
        for folder, moved in done.moves.items():
            self.imap.move(moved, folder)
        self.report.count(done)

    def _move_recorded(self, uids: list[int]) -> list[int]:
        """Move the recorded ones among ``uids`` (by chunks); return the others."""
        others: list[int] = []
        for start in range(0, len(uids), 500):
            chunk = uids[start:start + 500]
            group = Outcome()
            recorded = self.ledger.recorded_statuses(chunk)
            self.ledger.commit()
            for uid in chunk:
                if uid in recorded:
                    self._move_done(group, uid, recorded[uid])
                else:
                    others.append(uid)
            self._move_and_count(group)
        return others

    # -- one message, one SAVEPOINT ---------------------------------------------------------

    def _one(self, group: Outcome, item: FetchedMail) -> None:
        uid, raw, sha, mail, error = item.uid, item.raw or b"", item.sha, item.mail, item.error
        if isinstance(error, MailUnreadable):
            self._quarantine(group, uid, raw, sha, None, f"illisible : {error}", attempts=1)
            return
        if mail is None:
            self._failed(group, uid, raw, sha, None, error or RuntimeError("parse"))
            return
        if self._duplicate_of(group, mail.message_id, sha, uid):
            return
        if not self.isolated:
            applied = self._ingest(uid, raw, sha, mail)  # failing: the group runs again
        else:
            try:
                with self.session.begin_nested():
                    applied = self._ingest(uid, raw, sha, mail)
            except (OperationalError, DatabaseUnavailable, ImapUnavailable):
                raise
            except Exception as exc:  # noqa: BLE001 - one bad message never stops the loop
                self._failed_in_savepoint(group, item, mail, exc)
                return
        self.ledger.identities[identity(mail.message_id, sha)] = InboundStatus.PROCESSED
        self._advance(uid)
        group.move(uid, self.mailbox.processed_folder)
        group.processed += 1
        log.debug("%s uid %s: %s", self.target.key, uid, applied)

    def _handle(self, group: Outcome, item: FetchedMail) -> None:
        if item.raw is None:
            self._too_large(group, item.uid)
        else:
            self._one(group, item)

    @staticmethod
    def _or_isolate(step: Callable[..., None], *args: object) -> None:
        """Without SAVEPOINTs a message's rows are flushed by whatever comes next: any
        failure but an outage means the group must run again, one SAVEPOINT per message."""
        try:
            step(*args)
        except (OperationalError, DatabaseUnavailable, ImapUnavailable):
            raise
        except Exception as exc:
            raise _Isolate from exc

    def _failed_in_savepoint(self, group: Outcome, item: FetchedMail, mail: ParsedMail,
                             exc: Exception) -> None:
        uid, raw, sha = item.uid, item.raw or b"", item.sha
        if isinstance(exc, IntegrityError):
            self.sent.forget()  # the SAVEPOINT took back what it had queued
            # Another transaction recorded it first (identity or UID): it is done.
            status = self.ledger.recorded_statuses([uid]).get(uid)
            if status is not None:
                self._move_done(group, uid, status)
                return
            self.ledger.identities.pop(identity(mail.message_id, sha), None)  # look again
            if not self._duplicate_of(group, mail.message_id, sha, uid):
                self._failed(group, uid, raw, sha, mail, exc)
            return
        # Any other error: one bad message never stops the loop.
        self.sent.forget()
        self._failed(group, uid, raw, sha, mail, exc)

    def _ingest(self, uid: int, raw: bytes, sha: str, mail: ParsedMail) -> str:
        """Ticket or reply, raw .eml, inbound record (inside the message's SAVEPOINT when
        isolated; else a new request waits for the group's batch)."""
        ctx = self.target.ctx
        with self.session.no_autoflush:  # the group's pending rows are not what it looks up
            decision = decide(mail, ctx.commune_id,
                              DatabaseThreadLookup(self.session, ctx.commune_id), ctx.signing_key)
        store_bytes(self.mail_dir, raw)
        if not self.isolated and decision.kind in _OPENS_TICKET:
            self.new_requests.append(_NewRequest(uid, raw, sha, mail, decision))
            return f"{decision.kind}: with the group's new tickets"
        applied = apply_decision(self.session, ctx, self.mailbox, mail, decision,
                                 sent=self.sent)
        self.ledger.record(uid, raw, sha, mail, InboundStatus.PROCESSED, reason=applied.summary,
                           decision=decision.kind, ticket_id=applied.ticket_id)
        return applied.summary

    def _open_new_tickets(self) -> None:
        """The group's new requests, through intake in one batch, and their inbound records."""
        requests, self.new_requests = self.new_requests, []
        if not requests:
            return
        applied = open_tickets(self.session, self.target.ctx, self.mailbox,
                               [(request.mail, request.decision) for request in requests],
                               sent=self.sent)
        for request, done in zip(requests, applied, strict=True):
            self.ledger.record(request.uid, request.raw, request.sha, request.mail,
                               InboundStatus.PROCESSED, reason=done.summary,
                               decision=request.decision.kind, ticket_id=done.ticket_id)

    def _advance(self, uid: int) -> None:
        if not self.blocked:
            self.last_uid = max(self.last_uid, uid)

    def _duplicate_of(self, group: Outcome, message_id: str | None, sha: str, uid: int) -> bool:
        """The same mail (same Message-ID and bytes) was recorded before: move it, no more."""
        status = self.ledger.status_of(identity(message_id, sha))
        if status is None:
            return False
        self._advance(uid)
        self._move_done(group, uid, status)
        return True

    def _move_done(self, group: Outcome, uid: int, status: str) -> None:
        folder = (self.mailbox.quarantine_folder if status == InboundStatus.QUARANTINED
                  else self.mailbox.processed_folder)
        group.move(uid, folder)
        group.duplicates += 1

    # -- failures and quarantine ------------------------------------------------------------

    def _failed(self, group: Outcome, uid: int, raw: bytes, sha: str, mail: ParsedMail | None,
                exc: Exception) -> None:
        """Count the attempt (committed with the group, the message's SAVEPOINT is gone);
        quarantine after max_attempts, else leave it in the inbox and hold the position."""
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("%s uid %s: %s", self.target.key, uid, error)
        attempts = self.ledger.count_failure(uid, error)
        if attempts >= self.mailbox.max_attempts:
            self._quarantine(group, uid, raw, sha, mail,
                             f"échec après {attempts} tentatives : {error}", attempts=attempts)
        else:
            self.blocked = True
            group.failed += 1

    def _quarantine(self, group: Outcome, uid: int, raw: bytes, sha: str,
                    mail: ParsedMail | None, reason: str, attempts: int,
                    tell_sender: bool = False) -> None:
        message_id = mail.message_id if mail is not None else None
        if self._duplicate_of(group, message_id, sha, uid):
            return
        with self.session.begin_nested():
            if tell_sender and mail is not None:
                tell_too_large(self.session, self.target, mail, self.sent)
            store_bytes(self.mail_dir, raw)
            self.ledger.record(uid, raw, sha, mail, InboundStatus.QUARANTINED, reason=reason,
                               attempts=attempts)
        self.ledger.identities[identity(message_id, sha)] = InboundStatus.QUARANTINED
        self._advance(uid)
        group.move(uid, self.mailbox.quarantine_folder)
        group.quarantined += 1

    def _too_large(self, group: Outcome, uid: int) -> None:
        """Quarantined unread (only its header is fetched and kept); the sender is told."""
        header = self.imap.fetch_header(uid) if self.imap else None
        if header is None:
            return
        sha = hashlib.sha256(header).hexdigest()
        mail = parse_header_only(header, self.target.own_addresses)
        self._quarantine(group, uid, header, sha, mail, f"trop volumineux (plus de "
                         f"{self.mailbox.max_message_mb:g} Mo) ; seul l'en-tête est conservé "
                         "ici, le message est dans le dossier de quarantaine", attempts=1,
                         tell_sender=True)
