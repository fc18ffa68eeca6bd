"""Reading the audit log (filters, keyset pages, exports) and recording denied accesses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from ticketing.models import AuditEvent, Ticket
from ticketing.operations.events import Actor, record_event

ACCESS_DENIED = "access_denied"
EXPORTED = "audit.exported"
ACTOR_KINDS = ("citizen", "system", "anonymous")


@dataclass(frozen=True)
class AuditFilter:
    """What the journal shows: ``actor`` is "agent:<id>" or "kind:<citizen|system|anonymous>"."""

    start: date | None = None
    end: date | None = None
    actor: str | None = None
    action: str | None = None
    ticket_number: str | None = None


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    linked_number: str | None

    @property
    def ticket_number(self) -> str | None:
        """The ticket's number (a refused access keeps it in its details)."""
        return self.linked_number or (self.event.after or {}).get("ticket_number")


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(timezone))


def filtered_query(commune_id: int, timezone: str,
                   wanted: AuditFilter) -> Select[tuple[AuditEvent, str | None]]:
    query = (select(AuditEvent, Ticket.number)
             .outerjoin(Ticket, Ticket.id == AuditEvent.ticket_id)
             .where(AuditEvent.commune_id == commune_id))
    if wanted.start is not None:
        query = query.where(AuditEvent.created_at >= _local_midnight(wanted.start, timezone))
    if wanted.end is not None:
        end = _local_midnight(wanted.end + timedelta(days=1), timezone)
        query = query.where(AuditEvent.created_at < end)
    if wanted.actor:
        kind, _, value = wanted.actor.partition(":")
        if kind == "agent" and value.isdigit():
            query = query.where(AuditEvent.actor_agent_id == int(value))
        elif kind == "kind" and value in ACTOR_KINDS:
            query = query.where(AuditEvent.actor_kind == value)
    if wanted.action:
        query = query.where(AuditEvent.action == wanted.action)
    if wanted.ticket_number:
        number = wanted.ticket_number.strip()
        query = query.where(or_(Ticket.number == number, and_(
            AuditEvent.action == ACCESS_DENIED,
            AuditEvent.after["ticket_number"].as_string() == number)))
    return query


def audit_page(session: Session, commune_id: int, timezone: str, wanted: AuditFilter,
               before_id: int | None = None, size: int = 50) -> tuple[list[AuditRow], int | None]:
    """Newest first, ``size`` rows older than ``before_id``; and the cursor of the next page."""
    query = filtered_query(commune_id, timezone, wanted)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    rows = [AuditRow(event, number) for event, number in
            session.execute(query.order_by(AuditEvent.id.desc()).limit(size + 1))]
    next_cursor = rows[size - 1].event.id if len(rows) > size else None
    return rows[:size], next_cursor


def audit_rows(session: Session, commune_id: int, timezone: str, wanted: AuditFilter,
               cap: int) -> list[AuditRow]:
    """Every row the filter selects, oldest first, at most ``cap`` (exports)."""
    query = filtered_query(commune_id, timezone, wanted).order_by(AuditEvent.id).limit(cap)
    return [AuditRow(event, number) for event, number in session.execute(query)]


def known_actions(session: Session, commune_id: int) -> list[str]:
    return sorted(session.scalars(
        select(AuditEvent.action).where(AuditEvent.commune_id == commune_id).distinct()))


def record_export(session: Session, commune_id: int, actor: Actor, wanted: AuditFilter,
                  fmt: str, count: int) -> None:
    record_event(session, commune_id, actor, EXPORTED, after={
        "format": fmt, "rows": count, "filters": {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in wanted.__dict__.items() if value}})


def record_access_denied(session: Session, commune_id: int, actor: Actor, *, path: str,
                         method: str, status: int, permission: str | Sequence[str] | None = None,
                         ticket: Ticket | None = None) -> None:
    """A refused access: who, where, which permission was missing and on which ticket.

    ``ticket`` is logged even when the agent was answered 404 (the log is not shown to
    them). Its id and number go in ``after``, not in ``ticket_id``: a refusal is no part of
    the ticket's history that its agents read (only of the journal).
    """
    if isinstance(permission, str):
        permission = [permission]
    record_event(session, commune_id, actor, ACCESS_DENIED, after={
        "path": path[:500], "method": method, "status": status,
        "missing_permission": list(permission) if permission else None,
        **({"ticket_id": ticket.id, "ticket_number": ticket.number} if ticket else {})})
