"""Open tickets that are late or soon due, across the services a pilot may view.

Counts per service and per agent are aggregated by the database (GROUP BY); only the
listed rows (bounded by ``limit``) come back to Python. Both use the ``ix_tickets_queue``
index: (commune, service, status, due date).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from ticketing.config.loader import CommuneConfig
from ticketing.domain.deadlines import local_date
from ticketing.models import OPEN_STATUSES, Agent, Ticket
from ticketing.reporting.filters import PilotFilter

LIST_LIMIT = 500


@dataclass(frozen=True)
class Group:
    """Late and soon-due open tickets of one service or one agent."""

    key: str | int | None  # service code, agent id (None: nobody took them)
    label: str
    overdue: int
    soon_due: int
    oldest_age_days: int  # days since the oldest one was received
    most_days_late: int  # 0 when none is late


@dataclass(frozen=True)
class OverdueRow:
    """One late or soon-due ticket, without the citizen's identity."""

    ticket_id: int
    number: str
    subject: str
    service_code: str
    category_code: str | None
    channel: str
    status: str
    zone_code: str | None
    assignee: str | None
    received_on: date
    answer_due_on: date
    age_days: int
    days_late: int  # negative: days left

    @property
    def is_overdue(self) -> bool:
        return self.days_late > 0


@dataclass(frozen=True)
class OverdueReport:
    by_service: list[Group]
    by_agent: list[Group]
    rows: list[OverdueRow]
    total_overdue: int
    total_soon_due: int

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.total_overdue + self.total_soon_due


def watched_tickets(
    commune_id: int, services: Collection[str], flt: PilotFilter, config: CommuneConfig,
    today: date,
) -> Select:  # type: ignore[type-arg]
    """The open tickets of ``services`` due before today + horizon (late ones included)."""
    limit_day = today + timedelta(days=flt.horizon)
    stmt = select().select_from(Ticket).where(
        Ticket.commune_id == commune_id,
        Ticket.service_code.in_(sorted(services)),
        Ticket.status.in_([s.value for s in OPEN_STATUSES]),
        Ticket.answer_due_on <= limit_day,
    )
    return flt.apply(stmt, config)


def overdue_report(
    session: Session, commune_id: int, services: Collection[str], flt: PilotFilter,
    config: CommuneConfig, today: date, limit: int = LIST_LIMIT,
) -> OverdueReport:
    """Late and soon-due tickets of ``services``: groups, totals and the first ``limit``."""
    if not services:
        return OverdueReport([], [], [], 0, 0)
    base = watched_tickets(commune_id, services, flt, config, today)
    is_late = case((Ticket.answer_due_on < today, 1), else_=0)
    counts = (
        func.sum(is_late), func.count() - func.sum(is_late),
        func.min(Ticket.received_at), func.min(Ticket.answer_due_on),
    )
    tz = config.commune.timezone

    def group(key, label: str, row) -> Group:  # type: ignore[no-untyped-def]
        overdue, soon, oldest, earliest_due = row
        return Group(key, label, int(overdue), int(soon), _age(oldest, today, tz),
                     max(0, (today - earliest_due).days))

    by_service = [
        group(code, config.services[code].name if code in config.services else code, rest)
        for code, *rest in session.execute(
            base.add_columns(Ticket.service_code, *counts).group_by(Ticket.service_code))
    ]
    by_agent = [
        group(agent_id, name or "", rest)
        for agent_id, name, *rest in session.execute(
            base.outerjoin(Agent, Agent.id == Ticket.assignee_id)
            .add_columns(Ticket.assignee_id, Agent.full_name, *counts)
            .group_by(Ticket.assignee_id, Agent.full_name))
    ]
    by_service.sort(key=lambda g: (-g.overdue, -g.soon_due, g.label))
    by_agent.sort(key=lambda g: (g.key is not None, -g.overdue, -g.soon_due, g.label))
    return OverdueReport(
        by_service, by_agent, overdue_rows(session, base, today, tz, limit),
        sum(g.overdue for g in by_service), sum(g.soon_due for g in by_service),
    )


def overdue_rows(
    session: Session, base: Select, today: date, timezone: str, limit: int | None  # type: ignore[type-arg]
) -> list[OverdueRow]:
    """The tickets of ``base``, the most overdue first (then the oldest)."""
    stmt = (
        base.outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .add_columns(
            Ticket.id, Ticket.number, Ticket.subject, Ticket.service_code, Ticket.category_code,
            Ticket.channel, Ticket.status, Ticket.zone_code, Agent.full_name,
            Ticket.received_at, Ticket.answer_due_on)
        .order_by(Ticket.answer_due_on, Ticket.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        OverdueRow(
            ticket_id=row.id, number=row.number, subject=row.subject,
            service_code=row.service_code, category_code=row.category_code,
            channel=row.channel, status=row.status, zone_code=row.zone_code,
            assignee=row.full_name, received_on=local_date(row.received_at, timezone),
            answer_due_on=row.answer_due_on, age_days=_age(row.received_at, today, timezone),
            days_late=(today - row.answer_due_on).days,
        )
        for row in session.execute(stmt)
    ]


def _age(received_at: datetime, today: date, timezone: str) -> int:
    """Whole days between the local date of receipt and today."""
    return (today - local_date(received_at, timezone)).days
