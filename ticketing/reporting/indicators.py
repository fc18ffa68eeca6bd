"""The pilot's indicators for a period of received dates [start, end).

Every figure is one aggregate query over the tickets received in the period (index
``ix_tickets_received``), restricted to the services the reader may view:

- volumes by channel, by category and by week;
- median and 90th percentile of the response time (received_at → first_answer_at, in
  days). PostgreSQL computes ``percentile_cont`` itself; SQLite has no percentile
  function, so we count the answered tickets and fetch only the two ordered durations
  around each percentile's rank (``ORDER BY … LIMIT 2 OFFSET k``), with the same linear
  interpolation as ``percentile_cont``: both databases give the same figures;
- % answered within the commitment: first answer's local date <= answer_due_on, among
  tickets answered or already past their due date (a late unanswered ticket counts as a
  miss, not as nothing);
- % acknowledged within one working day of the received date (commune calendar), among
  tickets acknowledged or whose acknowledgement day has passed; the database groups by
  (received date, acknowledgement date), Python applies the calendar to those groups;
- reopen rate: answered tickets that went from answered or closed back to an open
  status (audit events ``ticket.status_changed``) / answered tickets.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from ticketing.config.loader import CommuneConfig
from ticketing.config.schema import DayUnit, Delay
from ticketing.domain.deadlines import add_delay
from ticketing.domain.deadlines import local_date as local_date_of
from ticketing.models import OPEN_STATUSES, AuditEvent, Status, Ticket
from ticketing.reporting import dialect
from ticketing.reporting.filters import Period, PilotFilter

ONE_WORKING_DAY = Delay(days=1, unit=DayUnit.WORKING)
REOPENED_FROM = (Status.ANSWERED.value, Status.CLOSED.value)


@dataclass(frozen=True)
class Ratio:
    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.part / self.whole, 1) if self.whole else None


@dataclass(frozen=True)
class Indicators:
    period: Period
    received: int
    by_channel: list[tuple[str, int]]
    by_category: list[tuple[str | None, int]]
    by_week: list[tuple[date, int]]  # (Monday of the week, tickets received that week)
    answered: int
    median_days: float | None
    p90_days: float | None
    within_commitment: Ratio
    acknowledged_in_time: Ratio
    reopened: Ratio


@dataclass(frozen=True)
class _Scope:
    session: Session
    base: Select  # type: ignore[type-arg]
    dialect: str
    timezone: str
    start_utc: datetime
    end_utc: datetime
    now: datetime
    today: date


def compute_indicators(
    session: Session, commune_id: int, services: Collection[str], flt: PilotFilter,
    config: CommuneConfig, period: Period, now: datetime,
) -> Indicators:
    tz = config.commune.timezone
    start_utc = dialect.utc_start_of(period.start, tz)
    end_utc = dialect.utc_start_of(period.end, tz)
    base = flt.apply(
        select().select_from(Ticket).where(
            Ticket.commune_id == commune_id,
            Ticket.service_code.in_(sorted(services)),
            Ticket.received_at >= start_utc,
            Ticket.received_at < end_utc,
        ),
        config,
    )
    scope = _Scope(session, base, session.get_bind().dialect.name, tz, start_utc,
                   max(end_utc, now), now, local_date_of(now, tz))
    by_channel, by_category = _volumes(scope)
    by_week, within_commitment, reopened = _counts(scope, period)
    answered, median, p90 = _response_times(scope)
    return Indicators(
        period=period,
        received=sum(count for _, count in by_channel),
        by_channel=by_channel,
        by_category=by_category,
        by_week=by_week,
        answered=answered,
        median_days=median,
        p90_days=p90,
        within_commitment=within_commitment,
        acknowledged_in_time=_acknowledged_in_time(scope, config),
        reopened=reopened,
    )


def _volumes(scope: _Scope) -> tuple[list[tuple[str, int]], list[tuple[str | None, int]]]:
    """Volumes by channel and by category, from one GROUP BY over both."""
    stmt = scope.base.add_columns(Ticket.channel, Ticket.category_code, func.count()).group_by(
        Ticket.channel, Ticket.category_code)
    channels: dict[str, int] = {}
    categories: dict[str | None, int] = {}
    for channel, category, count in scope.session.execute(stmt):
        channels[channel] = channels.get(channel, 0) + int(count)
        categories[category] = categories.get(category, 0) + int(count)

    def ranked(counts):  # type: ignore[no-untyped-def]
        return sorted(counts.items(), key=lambda row: (-row[1], row[0] or ""))

    return ranked(channels), ranked(categories)


def week_buckets(period: Period) -> list[tuple[date, date, date]]:
    """(Monday, first day, day after the last) of each week of ``period``, cut to it."""
    monday = period.start - timedelta(days=period.start.weekday())
    buckets = []
    while monday < period.end:
        buckets.append((monday, max(monday, period.start),
                        min(monday + timedelta(days=7), period.end)))
        monday += timedelta(days=7)
    return buckets


def _counts(scope: _Scope, period: Period) -> tuple[list[tuple[date, int]], Ratio, Ratio]:
    """Weekly volumes, answers within the commitment and reopenings, in one scan: one
    conditional sum per week (portable, time-zone exact) and the ratios' sums."""
    buckets = week_buckets(period)
    weekly = [
        func.sum(case((and_(
            Ticket.received_at >= dialect.utc_start_of(first, scope.timezone),
            Ticket.received_at < dialect.utc_start_of(after, scope.timezone),
        ), 1), else_=0))
        for _monday, first, after in buckets
    ]
    row = scope.session.execute(scope.base.add_columns(
        *weekly, *_within_commitment_sums(scope), *_reopened_sums())).one()
    weeks = [(monday, int(value or 0)) for (monday, _f, _a), value in zip(buckets, row,
                                                                          strict=False)]
    in_time, counted, reopened, answered = (int(value or 0) for value in row[len(buckets):])
    return weeks, Ratio(in_time, counted), Ratio(reopened, answered)


def _response_times(scope: _Scope) -> tuple[int, float | None, float | None]:
    """(answered tickets, median, 90th percentile) of the response time in days."""
    duration = dialect.days_between(Ticket.received_at, Ticket.first_answer_at, scope.dialect)
    answered = scope.base.where(Ticket.first_answer_at.is_not(None))
    if scope.dialect == "postgresql":
        count, median, p90 = scope.session.execute(answered.add_columns(
            func.count(),
            func.percentile_cont(0.5).within_group(duration),
            func.percentile_cont(0.9).within_group(duration),
        )).one()
        return int(count), _days(median), _days(p90)
    count = int(scope.session.execute(answered.add_columns(func.count())).scalar_one())

    def percentile(fraction: float) -> float | None:
        if count == 0:
            return None
        rank = fraction * (count - 1)
        low = math.floor(rank)
        values = list(scope.session.execute(
            answered.add_columns(duration.label("d")).order_by("d").offset(low).limit(2)
        ).scalars())
        high = values[1] if len(values) > 1 else values[0]
        return _days(values[0] + (high - values[0]) * (rank - low))

    return count, percentile(0.5), percentile(0.9)


def _days(value) -> float | None:  # type: ignore[no-untyped-def]
    return None if value is None else round(float(value), 2)


def _within_commitment_sums(scope: _Scope) -> list:  # type: ignore[type-arg]
    answered_on = dialect.local_date(Ticket.first_answer_at, scope.timezone, scope.dialect,
                                     scope.start_utc, scope.end_utc)
    is_answered = Ticket.first_answer_at.is_not(None)
    counted = and_(Ticket.first_answer_at.is_(None), Ticket.answer_due_on < scope.today)
    in_time = and_(is_answered, answered_on <= Ticket.answer_due_on)
    return [func.sum(case((in_time, 1), else_=0)),
            func.sum(case((is_answered, 1), (counted, 1), else_=0))]


def _acknowledged_in_time(scope: _Scope, config: CommuneConfig) -> Ratio:
    def on(column):  # type: ignore[no-untyped-def]
        return dialect.local_date(column, scope.timezone, scope.dialect,
                                  scope.start_utc, scope.end_utc)

    received_on, acknowledged_on = on(Ticket.received_at), on(Ticket.acknowledged_at)
    stmt = scope.base.add_columns(received_on, acknowledged_on, func.count()).group_by(
        received_on, acknowledged_on)
    part = whole = 0
    for received, acknowledged, count in scope.session.execute(stmt):
        due = add_delay(received, ONE_WORKING_DAY, config.calendar, roll_forward=False)
        if acknowledged is None:
            whole += count if due < scope.today else 0  # still in time: not counted yet
            continue
        whole += count
        part += count if acknowledged <= due else 0
    return Ratio(part, whole)


def _reopened_sums() -> list:  # type: ignore[type-arg]
    reopening = (
        select(AuditEvent.id)
        .where(
            AuditEvent.ticket_id == Ticket.id,
            AuditEvent.action == "ticket.status_changed",
            AuditEvent.before["status"].as_string().in_(REOPENED_FROM),
            AuditEvent.after["status"].as_string().in_([s.value for s in OPEN_STATUSES]),
        )
        .exists()
    )
    is_answered = Ticket.first_answer_at.is_not(None)
    return [func.sum(case((and_(is_answered, reopening), 1), else_=0)),
            func.sum(case((is_answered, 1), else_=0))]
