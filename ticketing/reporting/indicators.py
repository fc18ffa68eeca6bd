"""The pilot's indicators for a period of received dates [start, end).

Restricted to the services the reader may view and to the filter, the tickets received in
the period (index ``ix_tickets_received``, which on PostgreSQL carries every column read
here: index-only scans) are read twice, whatever the period's length:

- once grouped: by (channel, category) for the volumes, and by (local received date, local
  acknowledgement date) for the weekly volumes and the acknowledgements; PostgreSQL does
  both groupings in one scan (``GROUPING SETS``), SQLite in two queries;
- once aggregated: answers within the commitment, reopenings and, on PostgreSQL, the
  response times at the ranks the median and the 90th percentile need (``percentile_disc``
  over whole microseconds: a bigint sort). SQLite has no percentile function: it fetches
  those durations two by two (``ORDER BY … LIMIT 2 OFFSET k``). Python interpolates between
  them as ``percentile_cont`` does, so both databases give the same figures.

The figures:

- response time: received_at → first_answer_at, in days;
- % answered within the commitment: first answer's local date <= answer_due_on, among
  tickets answered or already past their due date (a late unanswered ticket counts as a
  miss, not as nothing);
- % acknowledged within one working day of the received date (commune calendar), among
  tickets acknowledged or whose acknowledgement day has passed: Python applies the calendar
  to the (received date, acknowledgement date) groups;
- reopen rate: answered tickets that went from answered or closed back to an open status
  (audit events ``ticket.status_changed``, found through the partial index
  ``ix_audit_events_reopenings``) / answered tickets.

Local dates are computed with the zone's UTC offsets over the period (``dialect``). On
PostgreSQL the queries run without JIT compilation (it cost more than the queries) and with
enough ``work_mem`` to hash the groups and sort the durations in memory. At 1 000 000
tickets, 365 days (half a million rows) take about half a second (bench/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from ticketing.config.loader import CommuneConfig
from ticketing.config.schema import DayUnit, Delay
from ticketing.domain.deadlines import add_delay
from ticketing.domain.deadlines import local_date as local_date_of
from ticketing.models import AuditEvent, Ticket
from ticketing.models.ticket import REOPENING_WHERE
from ticketing.reporting import dialect
from ticketing.reporting.filters import Period, PilotFilter

ONE_WORKING_DAY = Delay(days=1, unit=DayUnit.WORKING)
PERCENTILES = (0.5, 0.9)  # the median and the 90th percentile of the response time
MICROSECONDS_A_DAY = 86_400_000_000
POSTGRESQL_SETTINGS = {"jit": "off", "work_mem": "64MB"}


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
    end_utc: datetime  # the last instant a timestamp read may hold
    today: date

    def local_date(self, column: ColumnElement[datetime]) -> ColumnElement[date]:
        return dialect.local_date(column, self.timezone, self.dialect, self.start_utc,
                                  self.end_utc)


# (received date, acknowledgement date or None, tickets)
_Day = tuple[date, date | None, int]


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
                   max(end_utc, now), local_date_of(now, tz))
    with _settings(scope):
        pairs, days = _groups(scope)
        answered = sum(row[3] for row in pairs)
        in_time, counted, reopened, durations = _answers(scope, answered)
    by_channel, by_category = _volumes(pairs)
    median, p90 = (_percentile(durations, fraction, answered) for fraction in PERCENTILES)
    return Indicators(
        period=period,
        received=sum(count for _, count in by_channel),
        by_channel=by_channel,
        by_category=by_category,
        by_week=_weekly(period, days),
        answered=answered,
        median_days=median,
        p90_days=p90,
        within_commitment=Ratio(in_time, counted),
        acknowledged_in_time=_acknowledged_in_time(days, scope.today, config),
        reopened=Ratio(reopened, answered),
    )


@contextmanager
def _settings(scope: _Scope) -> Iterator[None]:
    """PostgreSQL: the settings of ``POSTGRESQL_SETTINGS`` while the indicators' queries
    run, then the previous values again (after an error, the rollback restores them)."""
    if scope.dialect != "postgresql":
        yield
        return

    def apply(values: dict[str, str]) -> None:
        for name, value in values.items():
            scope.session.execute(text("SELECT set_config(:name, :value, true)"),
                                  {"name": name, "value": value})

    previous = {name: scope.session.execute(text("SELECT current_setting(:name)"),
                                            {"name": name}).scalar_one()
                for name in POSTGRESQL_SETTINGS}
    apply(POSTGRESQL_SETTINGS)
    yield
    apply(previous)


def _groups(scope: _Scope) -> tuple[list[tuple[str, str | None, int, int]], list[_Day]]:
    """(channel, category, tickets, answered tickets) and (received date, acknowledgement
    date, tickets) groups."""
    received_on = scope.local_date(Ticket.received_at)
    acknowledged_on = scope.local_date(Ticket.acknowledged_at)
    pairs: list[tuple[str, str | None, int, int]] = []
    days: list[_Day] = []
    if scope.dialect == "postgresql":
        stmt = scope.base.add_columns(
            func.grouping(Ticket.channel), Ticket.channel, Ticket.category_code, received_on,
            acknowledged_on, func.count(), func.count(Ticket.first_answer_at),
        ).group_by(func.grouping_sets(
            tuple_(Ticket.channel, Ticket.category_code), tuple_(received_on, acknowledged_on)))
        for by_day, channel, category, received, acknowledged, count, answered in (
                scope.session.execute(stmt)):
            if by_day:
                days.append((received, acknowledged, int(count)))
            else:
                pairs.append((channel, category, int(count), int(answered)))
    else:
        pairs = [(channel, category, int(count), int(answered))
                 for channel, category, count, answered in scope.session.execute(
                     scope.base.add_columns(Ticket.channel, Ticket.category_code, func.count(),
                                            func.count(Ticket.first_answer_at))
                     .group_by(Ticket.channel, Ticket.category_code))]
        days = [(received, acknowledged, int(count)) for received, acknowledged, count in
                scope.session.execute(scope.base.add_columns(
                    received_on, acknowledged_on, func.count()).group_by(
                    received_on, acknowledged_on))]
    return pairs, days


def _volumes(pairs: list[tuple[str, str | None, int, int]]) -> tuple[
        list[tuple[str, int]], list[tuple[str | None, int]]]:
    """Volumes by channel and by category, most frequent first."""
    channels: dict[str, int] = {}
    categories: dict[str | None, int] = {}
    for channel, category, count, _answered in pairs:
        channels[channel] = channels.get(channel, 0) + count
        categories[category] = categories.get(category, 0) + count

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


def _weekly(period: Period, days: list[_Day]) -> list[tuple[date, int]]:
    """Tickets received each week of the period, from the daily groups."""
    by_monday = {monday: 0 for monday, _first, _after in week_buckets(period)}
    for received, _acknowledged, count in days:
        by_monday[received - timedelta(days=received.weekday())] += count
    return list(by_monday.items())


def _answers(scope: _Scope, answered: int) -> tuple[int, int, int, dict[int, float]]:
    """(answered in time, counted for the commitment, answered then reopened, response times
    at the ranks the percentiles need), from one aggregate query (SQLite: and one short
    query per percentile)."""
    is_answered = Ticket.first_answer_at.is_not(None)
    answered_on = scope.local_date(Ticket.first_answer_at)
    past_due = and_(Ticket.first_answer_at.is_(None), Ticket.answer_due_on < scope.today)
    reopened = and_(is_answered, Ticket.id.in_(_reopened_tickets(scope.dialect)))
    columns = [
        func.sum(case((and_(is_answered, answered_on <= Ticket.answer_due_on), 1), else_=0)),
        func.sum(case((is_answered, 1), (past_due, 1), else_=0)),
        func.sum(case((reopened, 1), else_=0)),
    ]
    ranks = _ranks(answered)
    if scope.dialect == "postgresql" and ranks:
        # percentile_disc over whole microseconds: a bigint sort, faster than a double's.
        # The rank k (from 0) is the first value whose cumulative share reaches (k + ½) / n.
        microseconds = cast(func.date_part("epoch", Ticket.first_answer_at
                                           - Ticket.received_at) * 1_000_000, BigInteger)
        columns.append(func.percentile_disc(
            literal([(rank + 0.5) / answered for rank in ranks], ARRAY(Float)),
        ).within_group(microseconds))
    row = scope.session.execute(scope.base.add_columns(*columns)).one()
    in_time, counted, reopened_count = (int(value or 0) for value in row[:3])
    if scope.dialect == "postgresql":
        values = row[3] if ranks else []
        durations = {rank: value / MICROSECONDS_A_DAY
                     for rank, value in zip(ranks, values, strict=True)}
    else:
        durations = _ranked_durations(scope, ranks)
    return in_time, counted, reopened_count, durations


def _ranks(answered: int) -> list[int]:
    """The ranks (from 0, in the ordered response times) the percentiles interpolate
    between, as ``percentile_cont`` does."""
    ranks: set[int] = set()
    for fraction in PERCENTILES if answered else ():
        low = math.floor(fraction * (answered - 1))
        ranks.update((low, min(low + 1, answered - 1)))
    return sorted(ranks)


def _percentile(durations: dict[int, float], fraction: float, answered: int) -> float | None:
    if answered == 0:
        return None
    rank = fraction * (answered - 1)
    low = math.floor(rank)
    below, above = durations[low], durations[min(low + 1, answered - 1)]
    return _days(below + (above - below) * (rank - low))


def _ranked_durations(scope: _Scope, ranks: list[int]) -> dict[int, float]:
    """SQLite (no percentile function): the response times in days at ``ranks``, two by
    two (``ORDER BY … LIMIT 2 OFFSET k``)."""
    duration = dialect.days_between(Ticket.received_at, Ticket.first_answer_at, scope.dialect)
    ordered = scope.base.where(Ticket.first_answer_at.is_not(None)).add_columns(
        duration.label("d")).order_by("d")
    found: dict[int, float] = {}
    for rank in ranks:
        if rank not in found:
            values = scope.session.execute(ordered.offset(rank).limit(2)).scalars()
            found.update(zip(range(rank, rank + 2), values, strict=False))
    return found


def _reopened_tickets(dialect_name: str) -> Select:  # type: ignore[type-arg]
    """Tickets with a status change from answered or closed back to an open status.

    The condition is the very SQL of the partial index ``ix_audit_events_reopenings``, its
    values written in, not bound: PostgreSQL then always sees that the index covers it (a
    generic plan of a prepared statement could not, and would read every audit event)."""
    return select(AuditEvent.ticket_id).where(REOPENING_WHERE[dialect_name])


def _days(value) -> float | None:  # type: ignore[no-untyped-def]
    return None if value is None else round(float(value), 2)


def _acknowledged_in_time(days: list[_Day], today: date, config: CommuneConfig) -> Ratio:
    part = whole = 0
    due_on: dict[date, date] = {}
    for received, acknowledged, count in days:
        if received not in due_on:
            due_on[received] = add_delay(received, ONE_WORKING_DAY, config.calendar,
                                         roll_forward=False)
        due = due_on[received]
        if acknowledged is None:
            whole += count if due < today else 0  # still in time: not counted yet
            continue
        whole += count
        part += count if acknowledged <= due else 0
    return Ratio(part, whole)
