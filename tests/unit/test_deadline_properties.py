"""Properties of the deadline arithmetic the engine relies on, beyond tests/unit/test_deadlines.py
(which checks add_delay alone): the full rules of the shipped communes, random closures,
and pausing the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st

from ticketing.config.loader import load_commune
from ticketing.config.schema import DayUnit, Delay
from ticketing.domain.calendar import CommuneCalendar
from ticketing.domain.deadlines import (
    add_delay,
    compute_deadlines,
    extend_for_pause,
    open_days_between,
    select_rule,
)

COMMUNES = Path(__file__).resolve().parents[2] / "config" / "communes"
CONFIGS = [load_commune(COMMUNES / slug)
           for slug in ("champignac-en-cambrousse", "trifouillis-les-oies")]
CALENDARS = [CommuneCalendar(), CommuneCalendar(subdivision="57"),
             CommuneCalendar(subdivision="971"), *(c.calendar for c in CONFIGS)]

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2031, 12, 31),
                       timezones=st.just(UTC))
units = st.sampled_from(list(DayUnit))
calendars = st.sampled_from(CALENDARS)
configs = st.sampled_from(CONFIGS)
channels = st.sampled_from(["web", "email", "letter", "phone", "counter"])


def category_of(config, data) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    code = data.draw(st.sampled_from([None, *config.categories]))
    return code, (config.categories[code].kind if code else None)


def is_open(day: date, unit: DayUnit, calendar: CommuneCalendar) -> bool:
    if unit is DayUnit.BUSINESS:
        return calendar.is_business_day(day)
    return calendar.is_working_day(day)  # calendar days roll forward to a working day


@given(config=configs, channel=channels, received=moments, data=st.data())
def test_the_engine_never_dates_an_answer_on_a_closed_day(config, channel, received, data):
    assert config.deadlines.calendar.roll_forward_to_open_day  # both shipped communes
    category, kind = category_of(config, data)
    rule = select_rule(config.deadlines, channel, category, kind)

    due = compute_deadlines(config.deadlines, config.calendar, "Europe/Paris", channel,
                            category, received, kind=kind)

    assert is_open(due.acknowledgement_due, rule.acknowledgement.unit, config.calendar)
    assert is_open(due.answer_due, rule.answer.unit, config.calendar)


@given(config=configs, channel=channels, received=moments, later=st.integers(0, 90 * 24),
       data=st.data())
def test_due_dates_are_monotone_in_the_moment_of_receipt(config, channel, received, later,
                                                          data):
    category, kind = category_of(config, data)
    first = compute_deadlines(config.deadlines, config.calendar, "Europe/Paris", channel,
                              category, received, kind=kind)
    second = compute_deadlines(config.deadlines, config.calendar, "Europe/Paris", channel,
                               category, received + timedelta(hours=later), kind=kind)

    assert second.answer_due >= first.answer_due
    assert second.acknowledgement_due >= first.acknowledgement_due


@given(start=days, n=st.integers(0, 40), unit=units, roll=st.booleans(),
       closures=st.sets(days, max_size=15), calendar=calendars)
def test_more_closed_days_never_make_a_deadline_earlier(start, n, unit, roll, closures,
                                                        calendar):
    closed = CommuneCalendar(subdivision=calendar.subdivision,
                             closed_days=calendar.closed_days | frozenset(closures),
                             removed_holidays=calendar.removed_holidays)
    delay = Delay(days=n, unit=unit)

    assert add_delay(start, delay, closed, roll) >= add_delay(start, delay, calendar, roll)


@given(start=days, n=st.integers(0, 40), unit=units, roll=st.booleans(),
       removed=st.sets(days, max_size=10))
def test_working_on_a_holiday_never_makes_a_deadline_later(start, n, unit, roll, removed):
    delay = Delay(days=n, unit=unit)
    normal = CommuneCalendar(subdivision="57")
    fewer = CommuneCalendar(subdivision="57", removed_holidays=frozenset(removed))

    assert add_delay(start, delay, fewer, roll) <= add_delay(start, delay, normal, roll)


@given(due=days, paused_on=days, length=st.integers(0, 120), unit=units,
       calendar=calendars, roll=st.booleans())
def test_pause_and_resume_never_shorten_the_delay(due, paused_on, length, unit, calendar,
                                                  roll):
    resumed_on = paused_on + timedelta(days=length)

    new_due = extend_for_pause(due, paused_on, resumed_on, unit, calendar, roll)

    assert new_due >= due
    # What was left when the clock stopped is still left when it restarts (in the
    # rule's unit; negative when already late).
    left_before = open_days_between(paused_on, due, unit, calendar)
    left_after = open_days_between(resumed_on, new_due, unit, calendar)
    assert left_after >= left_before


@given(due=days, paused_on=days, length=st.integers(0, 60), unit=units, calendar=calendars)
def test_working_or_calendar_pause_without_roll_keeps_exactly_the_delay_left(
        due, paused_on, length, unit, calendar):
    assume(unit is DayUnit.CALENDAR or is_open(due, unit, calendar))
    resumed_on = paused_on + timedelta(days=length)

    new_due = extend_for_pause(due, paused_on, resumed_on, unit, calendar, False)

    assert open_days_between(resumed_on, new_due, unit, calendar) == \
        open_days_between(paused_on, due, unit, calendar)


@given(due=days, paused_on=days, first=st.integers(0, 30), second=st.integers(0, 30),
       unit=st.sampled_from([DayUnit.WORKING, DayUnit.BUSINESS]), calendar=calendars)
def test_two_short_pauses_in_a_row_count_as_one_long_pause(due, paused_on, first, second,
                                                           unit, calendar):
    middle = paused_on + timedelta(days=first)
    end = middle + timedelta(days=second)

    twice = extend_for_pause(extend_for_pause(due, paused_on, middle, unit, calendar, True),
                             middle, end, unit, calendar, True)

    assert twice == extend_for_pause(due, paused_on, end, unit, calendar, True)


def test_a_weekend_pause_does_not_stretch_a_working_day_delay() -> None:
    # Paused Friday 18 Dec 2026, resumed Monday 21: one working day lost (the Monday).
    due = date(2026, 12, 31)
    new_due = extend_for_pause(due, date(2026, 12, 18), date(2026, 12, 21), DayUnit.WORKING,
                               CommuneCalendar(), True)

    assert new_due == date(2027, 1, 4)  # 1 January is a holiday, then the weekend
