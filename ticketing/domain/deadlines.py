"""The one deadline calculator: when an acknowledgement and an answer are due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ticketing.config.schema import DayUnit, DeadlineRule, DeadlinesFile, Delay
from ticketing.domain.calendar import CommuneCalendar


@dataclass(frozen=True)
class Deadlines:
    """Due dates of one ticket, as dates in the commune's time zone."""

    acknowledgement_due: date
    answer_due: date
    rule_name: str


def add_delay(start: date, delay: Delay, calendar: CommuneCalendar, roll_forward: bool) -> date:
    """Add ``delay`` to ``start``.

    Calendar days land on ``start + days``, moved to the next working day when
    that falls on a closed day and ``roll_forward`` is set. Working and business
    days count only open days after ``start``.
    """
    if delay.unit is DayUnit.CALENDAR:
        due = start + timedelta(days=delay.days)
        return calendar.next_working_day(due) if roll_forward else due
    is_open = (
        calendar.is_working_day if delay.unit is DayUnit.WORKING else calendar.is_business_day
    )
    due = start
    remaining = delay.days
    while remaining > 0:
        due += timedelta(days=1)
        if is_open(due):
            remaining -= 1
    if delay.days == 0:
        while not is_open(due):
            due += timedelta(days=1)
    return due


def select_rule(
    rules: DeadlinesFile, channel: str, category: str | None, kind: str | None = None
) -> DeadlineRule:
    """First rule whose conditions all match (channel, category, category kind), else the
    default rule."""
    for rule in rules.rules:
        if rule.channels and channel not in rule.channels:
            continue
        if rule.categories and category not in rule.categories:
            continue
        if rule.kinds and kind not in rule.kinds:
            continue
        return rule
    return rules.default


def local_date(moment: datetime, timezone: str) -> date:
    """The date ``moment`` falls on in the commune's time zone (DST-safe)."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(ZoneInfo(timezone)).date()


def compute_deadlines(
    rules: DeadlinesFile,
    calendar: CommuneCalendar,
    timezone: str,
    channel: str,
    category: str | None,
    received_at: datetime,
    sent_on: date | None = None,
    paused_days: int = 0,
    kind: str | None = None,
) -> Deadlines:
    """Due dates for a request received at ``received_at``.

    A rule with ``count_from: sending`` runs the answer delay from the sending
    date plus its transit days when that date is known (Marianne); otherwise
    the delay runs from receipt. The
    acknowledgement delay always runs from receipt. ``paused_days``
    (days spent waiting for the citizen) push the answer date back.
    """
    rule = select_rule(rules, channel, category, kind)
    received_on = local_date(received_at, timezone)
    roll = rules.calendar.roll_forward_to_open_day
    answer_start = received_on
    if sent_on is not None and rule.count_from == "sending":
        answer_start = sent_on + timedelta(days=rule.transit_days)
    answer_due = add_delay(answer_start, rule.answer, calendar, roll)
    if paused_days:
        answer_due = add_delay(answer_due, Delay(days=paused_days), calendar, roll)
    ack_due = add_delay(received_on, rule.acknowledgement, calendar, roll)
    return Deadlines(acknowledgement_due=ack_due, answer_due=answer_due, rule_name=rule.name)


def open_days_between(after: date, until: date, unit: DayUnit, calendar: CommuneCalendar) -> int:
    """Days of ``unit`` in ``(after, until]``, negative when ``until`` comes first."""
    if until < after:
        return -open_days_between(until, after, unit, calendar)
    if unit is DayUnit.CALENDAR:
        return (until - after).days
    is_open = calendar.is_working_day if unit is DayUnit.WORKING else calendar.is_business_day
    return sum(is_open(after + timedelta(days=i)) for i in range(1, (until - after).days + 1))


def extend_for_pause(
    due: date, paused_on: date, resumed_on: date, unit: DayUnit, calendar: CommuneCalendar,
    roll_forward: bool,
) -> date:
    """The answer date once a pause from ``paused_on`` to ``resumed_on`` is over.

    The due date moves by the days of the rule's own unit that fell inside the pause,
    the pause day excluded and the resumption day included (as ``add_delay`` counts from
    the day after its start): a working-day delay is pushed by the working days lost, not
    by the weekend. So the delay left when the clock resumes is never shorter than the
    delay that was left when it stopped (property-tested).
    """
    lost = open_days_between(paused_on, resumed_on, unit, calendar)
    if lost <= 0:
        return due
    return add_delay(due, Delay(days=lost, unit=unit), calendar, roll_forward)


def calendar_from_rules(subdivision: str | None, rules: DeadlinesFile) -> CommuneCalendar:
    return CommuneCalendar(
        subdivision=subdivision,
        closed_days=frozenset(rules.calendar.closed_days),
        removed_holidays=frozenset(rules.calendar.removed_holidays),
    )


def silence_date(received_on: date, months: int) -> date:
    """Date on which silence becomes an implicit decision (same day, ``months`` later)."""
    return add_months(received_on, months)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (earlier when negative); a day the
    month lacks becomes its last day (31 January + 1 month = 28 or 29 February)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    day_of_month = day.day
    while True:
        try:
            return date(year, month, day_of_month)
        except ValueError:
            day_of_month -= 1


__all__: Sequence[str] = (
    "Deadlines",
    "add_delay",
    "calendar_from_rules",
    "compute_deadlines",
    "extend_for_pause",
    "local_date",
    "open_days_between",
    "select_rule",
    "silence_date",
)
