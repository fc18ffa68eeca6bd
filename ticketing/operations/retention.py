"""RGPD retention: anonymise the requests kept past their retention delay.

A CLOSED ticket is due when its closing date (the commune's local date) is before today
minus its category's ``retention_months`` (categories.yaml; a ticket without a known
category takes the commune's ``retention_months``, commune.yaml). Answered tickets are left
alone: the citizen may still reply and reopen them; they become due once closed.

Anonymising keeps what the statistics read (number, dates, channel, category, service, zone,
status, deadlines) and drops identity: the ticket's text, place, coordinates and extra
fields; its thread's words; its files (a blob is deleted once no attachment row refers to
it); its inbound mail records' sender and subject (the raw .eml goes once every record of
those bytes belongs to an anonymised ticket); its sent mail's recipient and text; its
authorised contacts; its reply drafts' text and forwarding reasons; and the citizen's
identity once none of their tickets is left intact.
Tickets with mail still waiting in the outbox are skipped until it is sent or given up.

Known limit: audit events are append-only and hash-chained, so they are not rewritten. They
keep the few addresses and labels they recorded (e.g. a contact added, the citizen label of
a public action): proof that the request was handled. ``ticket.anonymised`` records counts
only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ticketing.domain.deadlines import add_months, local_date
from ticketing.models import (
    Attachment,
    Citizen,
    InboundMessage,
    OutboxMessage,
    Ticket,
    TicketContact,
)
from ticketing.models.dispatch import Forwarding
from ticketing.models.drafts import ReplyDraft
from ticketing.models.outbox import OutboxStatus
from ticketing.models.registration import RegisterEntry
from ticketing.models.ticket import Status
from ticketing.operations.attachments import blob_path
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event
from ticketing.tenancy import SCOPE_KEY

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # tickets per run and commune: the next daily run takes the rest
ANONYMOUS_SUBJECT = "Demande anonymisée"
ANONYMOUS_TEXT = "Contenu supprimé au terme de la durée de conservation (RGPD)."
ANONYMOUS_ENTRY_SUBJECT = "Message anonymisé"
ACTOR = Actor.system("Conservation des données (RGPD)")


@dataclass
class RetentionReport:
    """What one run did (or, in a dry run, would do) for one commune."""

    commune: str
    dry_run: bool
    numbers: list[str] = field(default_factory=list)  # tickets anonymised (or due)
    waiting_for_mail: int = 0  # due but skipped: mail still pending in the outbox
    citizens_cleared: int = 0
    files_removed: int = 0
    mails_removed: int = 0

    def summary(self) -> str:
        verb = "would anonymise" if self.dry_run else "anonymised"
        line = f"{self.commune}: {verb} {len(self.numbers)} request(s)"
        if self.numbers:
            line += f" ({', '.join(self.numbers)})"
        if not self.dry_run:
            line += (f"; {self.citizens_cleared} citizen(s) cleared, {self.files_removed} "
                     f"file(s) and {self.mails_removed} raw mail(s) removed")
        if self.waiting_for_mail:
            line += f"; {self.waiting_for_mail} waiting for pending mail"
        return line


def months_before(day: date, months: int) -> date:
    """``day`` minus ``months`` calendar months (the 31st becomes the month's last day)."""
    return add_months(day, -months)


def _cutoff(today: date, months: int, timezone: str) -> datetime:
    """The first instant still kept: local midnight of ``today`` minus ``months``."""
    local = datetime.combine(months_before(today, months), time(), ZoneInfo(timezone))
    return local.astimezone(UTC)


def _due_clause(ctx: CommuneContext, today: date) -> ColumnElement[bool]:
    config = ctx.config
    tz = config.commune.timezone
    by_category = [
        and_(Ticket.category_code == code,
             Ticket.closed_at < _cutoff(today, category.retention_months, tz))
        for code, category in config.categories.items()
    ]
    other = and_(
        or_(Ticket.category_code.is_(None), Ticket.category_code.not_in(list(config.categories))),
        Ticket.closed_at < _cutoff(today, config.commune.retention_months, tz),
    )
    return and_(Ticket.commune_id == ctx.commune_id, Ticket.status == Status.CLOSED,
                Ticket.anonymised_at.is_(None), Ticket.closed_at.is_not(None),
                or_(*by_category, other))


def _pending_mail() -> ColumnElement[bool]:
    return exists().where(OutboxMessage.ticket_id == Ticket.id,
                          OutboxMessage.status == OutboxStatus.PENDING)


def anonymise_due(session: Session, ctx: CommuneContext, mail_dir: Path, *,
                  now: datetime | None = None, dry_run: bool = False,
                  batch_size: int = BATCH_SIZE) -> RetentionReport:
    """Anonymise up to ``batch_size`` due tickets of one commune; commits per ticket.

    ``mail_dir`` holds the raw .eml files (named by sha256, as the attachments are).
    """
    now = now or datetime.now(UTC)
    today = local_date(now, ctx.config.commune.timezone)
    due = _due_clause(ctx, today)
    report = RetentionReport(ctx.config.slug, dry_run)
    report.waiting_for_mail = session.scalar(
        select(func.count(Ticket.id)).where(due, _pending_mail())) or 0
    tickets = session.scalars(
        select(Ticket).where(due, ~_pending_mail())
        .order_by(Ticket.closed_at, Ticket.id).limit(batch_size)).all()
    if dry_run:
        report.numbers = [t.number for t in tickets]
        return report
    for ticket in tickets:
        files, mails = _anonymise(session, ctx, ticket, now, report)
        session.commit()
        report.numbers.append(ticket.number)
        report.files_removed += _remove_unreferenced_files(session, ctx.attachments_dir, files)
        report.mails_removed += _remove_unreferenced_mail(session, mail_dir, mails)
    return report


def _anonymise(session: Session, ctx: CommuneContext, ticket: Ticket, now: datetime,
               report: RetentionReport) -> tuple[set[str], set[str]]:
    """Drop the ticket's personal data; return the file and mail hashes it referred to."""
    category = ctx.config.categories.get(ticket.category_code or "")
    ticket.subject = category.label if category else ANONYMOUS_SUBJECT
    ticket.description = ANONYMOUS_TEXT
    ticket.location = None
    ticket.latitude = ticket.longitude = None
    ticket.extra_fields = {}
    ticket.anonymised_at = now
    for entry in ticket.entries:
        entry.subject = ANONYMOUS_ENTRY_SUBJECT if entry.subject else ""
        entry.body = ANONYMOUS_TEXT
    files = {a.sha256 for a in ticket.attachments}
    attachment_ids = [a.id for a in ticket.attachments]
    if attachment_ids:
        session.execute(update(RegisterEntry).where(RegisterEntry.slip_id.in_(attachment_ids))
                        .values(slip_id=None))
    ticket.attachments.clear()  # delete-orphan: the rows go at the flush
    mails = set(session.scalars(select(InboundMessage.raw_sha256)
                                .where(InboundMessage.ticket_id == ticket.id)))
    inbound = session.execute(update(InboundMessage).where(InboundMessage.ticket_id == ticket.id)
                              .values(from_address="", subject="")).rowcount
    outbox = session.execute(
        update(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id,
                                    OutboxMessage.status != OutboxStatus.PENDING)
        .values(to_address="", reply_to=None, subject="", body_text="", headers={})).rowcount
    contacts = session.execute(delete(TicketContact)
                               .where(TicketContact.ticket_id == ticket.id)).rowcount
    drafts = session.execute(update(ReplyDraft).where(ReplyDraft.ticket_id == ticket.id)
                             .values(subject="", body=ANONYMOUS_TEXT, comment="")).rowcount
    session.execute(update(Forwarding).where(Forwarding.ticket_id == ticket.id)
                    .values(reason=ANONYMOUS_TEXT))
    session.flush()
    citizen_cleared = _clear_citizen_if_done(session, ticket.citizen)
    report.citizens_cleared += citizen_cleared
    record_event(session, ticket.commune_id, ACTOR, "ticket.anonymised", ticket, after={
        "entries": len(ticket.entries), "attachments": len(attachment_ids),
        "inbound_mails": inbound, "sent_mails": outbox, "contacts": contacts, "drafts": drafts,
        "citizen_cleared": citizen_cleared})
    return files, mails


def _clear_citizen_if_done(session: Session, citizen: Citizen) -> bool:
    """Clear the citizen's identity when none of their tickets is left un-anonymised."""
    intact = session.scalar(select(exists().where(Ticket.citizen_id == citizen.id,
                                                  Ticket.anonymised_at.is_(None))))
    if intact or (not citizen.last_name and citizen.email is None and citizen.phone is None
                  and citizen.address is None and not citizen.first_name):
        return False
    citizen.first_name = citizen.last_name = ""
    citizen.email = citizen.phone = citizen.address = None
    citizen.email_bounced_at = None
    return True


@contextmanager
def _every_commune(session: Session) -> Iterator[None]:
    """Files are shared by every commune: look at every commune's rows while inside."""
    previous = session.info.pop(SCOPE_KEY, None)
    try:
        yield
    finally:
        if previous is not None:
            session.info[SCOPE_KEY] = previous


def _remove_unreferenced_files(session: Session, root: Path, digests: set[str]) -> int:
    if not digests:
        return 0
    with _every_commune(session):
        kept = set(session.scalars(select(Attachment.sha256)
                                   .where(Attachment.sha256.in_(digests))))
    return _unlink(root, digests - kept)


def _remove_unreferenced_mail(session: Session, root: Path, digests: set[str]) -> int:
    """An .eml goes once every record of those bytes belongs to an anonymised ticket."""
    if not digests:
        return 0
    with _every_commune(session):
        kept = set(session.scalars(
            select(InboundMessage.raw_sha256)
            .outerjoin(Ticket, Ticket.id == InboundMessage.ticket_id)
            .where(InboundMessage.raw_sha256.in_(digests), Ticket.anonymised_at.is_(None))))
    return _unlink(root, digests - kept)


def _unlink(root: Path, digests: set[str]) -> int:
    removed = 0
    for digest in digests:
        try:
            blob_path(root, digest).unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError:  # the row is gone; an administrator can remove the orphan file
            log.exception("retention: could not remove %s", digest)
    return removed
