"""The queue's queries: filters read from the URL (allow-listed), filtered and paged in SQL.

Pages are cut by keyset on (answer_due_on, id), the tail of the ``ix_tickets_queue``
index, so a page costs the same whatever the table size; nothing is counted.

A ticket copied for information to a service shows in that service's queue too, marked
"en copie"; the triage queue is the open tickets of the commune's triage service.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, lazyload

from ticketing.models import OPEN_STATUSES, AuditEvent, Status, Ticket, TicketCopy

PAGE_SIZE = 50
OPEN = "open"
ALL = "all"
STATUS_FILTERS = (OPEN, *(s.value for s in Status), ALL)


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this (due date, id)."""

    due: date
    ticket_id: int

    def encode(self) -> str:
        return f"{self.due.isoformat()}_{self.ticket_id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if not raw or raw.count("_") != 1:
            return None
        day, _, ident = raw.partition("_")
        try:
            return cls(date.fromisoformat(day), int(ident))
        except ValueError:
            return None


@dataclass(frozen=True)
class QueueFilter:
    service: str | None = None  # None: every service the agent can view
    status: str = OPEN
    overdue: bool = False
    mine: bool = False
    after: Cursor | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str], services: Collection[str]) -> QueueFilter:
        """Read the query string, ignoring any value not in the allow-lists."""
        service = args.get("service") or None
        status = args.get("status") or OPEN
        return cls(
            service=service if service in services else None,
            status=status if status in STATUS_FILTERS else OPEN,
            overdue=args.get("overdue") == "1",
            mine=args.get("mine") == "1",
            after=Cursor.decode(args.get("apres")),
        )

    def as_args(self) -> dict[str, str]:
        """The query string giving this filter (for links)."""
        args: dict[str, str] = {}
        if self.service:
            args["service"] = self.service
        if self.status != OPEN:
            args["status"] = self.status
        if self.overdue:
            args["overdue"] = "1"
        if self.mine:
            args["mine"] = "1"
        if self.after:
            args["apres"] = self.after.encode()
        return args

    def statuses(self) -> list[str] | None:
        """The statuses to keep; None: all of them."""
        if self.overdue or self.status == OPEN:
            wanted = [s.value for s in OPEN_STATUSES]
            if self.status not in (OPEN, ALL):
                wanted = [s for s in wanted if s == self.status]
            return wanted
        if self.status == ALL:
            return None
        return [self.status]


@dataclass(frozen=True)
class QueuePage:
    tickets: list[Ticket]
    next_filter: QueueFilter | None  # None on the last page
    copied: frozenset[int] = frozenset()  # ids of the tickets shown only as a copy


def _wanted(services: Collection[str], flt: QueueFilter) -> list[str]:
    return [flt.service] if flt.service else sorted(services)


def queue_statement(
    commune_id: int, services: Collection[str], flt: QueueFilter, today: date, agent_id: int,
    with_copies: bool = False,
) -> Select[tuple[Ticket]]:
    """Tickets of ``services`` (and, ``with_copies``, those copied to them) matching ``flt``,
    by due date then id, one page plus one row."""
    wanted_services = _wanted(services, flt)
    in_services = Ticket.service_code.in_(wanted_services)
    if with_copies:
        in_services = or_(in_services, Ticket.id.in_(
            select(TicketCopy.ticket_id).where(TicketCopy.commune_id == commune_id,
                                               TicketCopy.service_code.in_(wanted_services))))
    stmt = (
        select(Ticket)
        .where(Ticket.commune_id == commune_id, in_services)
        .options(lazyload(Ticket.citizen))
    )
    statuses = flt.statuses()
    if statuses is not None:
        stmt = stmt.where(Ticket.status.in_(statuses))
    if flt.overdue:
        stmt = stmt.where(Ticket.answer_due_on < today)
    if flt.mine:
        stmt = stmt.where(Ticket.assignee_id == agent_id)
    if flt.after is not None:
        stmt = stmt.where(or_(
            Ticket.answer_due_on > flt.after.due,
            and_(Ticket.answer_due_on == flt.after.due, Ticket.id > flt.after.ticket_id),
        ))
    return stmt.order_by(Ticket.answer_due_on, Ticket.id).limit(PAGE_SIZE + 1)


def queue_page(
    session: Session, commune_id: int, services: Collection[str], flt: QueueFilter,
    today: date, agent_id: int,
) -> QueuePage:
    if not services or (flt.service and flt.service not in services):
        return QueuePage([], None)
    wanted = _wanted(services, flt)
    # Most services have no copy: keep their query the plain one on the queue index.
    with_copies = session.scalar(select(TicketCopy.id).where(
        TicketCopy.commune_id == commune_id, TicketCopy.service_code.in_(wanted)).limit(1))
    rows = list(session.scalars(queue_statement(commune_id, services, flt, today, agent_id,
                                                with_copies=with_copies is not None)))
    copied = frozenset(t.id for t in rows if t.service_code not in wanted)
    if len(rows) <= PAGE_SIZE:
        return QueuePage(rows, None, copied)
    last = rows[PAGE_SIZE - 1]
    return QueuePage(rows[:PAGE_SIZE],
                     replace(flt, after=Cursor(last.answer_due_on, last.id)), copied)


def copied_services(session: Session, ticket: Ticket) -> set[str]:
    """The services ``ticket`` is copied to for information."""
    if ticket.id is None:
        return set()
    return set(session.scalars(
        select(TicketCopy.service_code).where(TicketCopy.ticket_id == ticket.id)))


def ticket_version(session: Session, ticket: Ticket) -> str:
    """A token that changes whenever anything happens to ``ticket`` (its last audit event):
    forms carry it so that a change based on a stale page is not silently applied."""
    last = session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.ticket_id == ticket.id))
    return str(last or 0)


def ticket_history(session: Session, ticket: Ticket) -> list[AuditEvent]:
    """The audit trail of one ticket, oldest first."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.ticket_id == ticket.id).order_by(AuditEvent.id)
    ))
