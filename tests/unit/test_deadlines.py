"""The deadline calculator: acknowledgement and answer dates in the commune's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketing.config.loader import load_commune
from ticketing.config.schema import DayUnit, DeadlinesFile, Delay
from ticketing.domain.calendar import CommuneCalendar
from ticketing.domain.deadlines import (
    add_delay,
    compute_deadlines,
    local_date,
    select_rule,
    silence_date,
)

COMMUNES = Path(__file__).resolve().parents[2] / "config" / "communes"
METROPOLE = CommuneCalendar()
MOSELLE = CommuneCalendar(subdivision="57")
PARIS = "Europe/Paris"


@pytest.fixture(scope="module")
def demo():
    return load_commune(COMMUNES / "champignac-en-cambrousse")


@pytest.fixture(scope="module")
def trifouillis():
    return load_commune(COMMUNES / "trifouillis-les-oies")


def working(days: int) -> Delay:
    return Delay(days=days, unit=DayUnit.WORKING)


def calendar_days(days: int) -> Delay:
    return Delay(days=days, unit=DayUnit.CALENDAR)


def noon(day: date) -> datetime:
    """Midday in Paris, as an aware datetime (11:00 or 10:00 UTC)."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(PARIS))


# --- working and business days ------------------------------------------------


def test_one_working_day_after_christmas_eve_is_the_monday() -> None:
    thursday_24_dec = date(2026, 12, 24)

    assert add_delay(thursday_24_dec, working(1), METROPOLE, True) == date(2026, 12, 28)
    assert add_delay(thursday_24_dec, working(1), MOSELLE, True) == date(2026, 12, 28)


def test_good_friday_and_easter_monday_delay_a_moselle_deadline_only() -> None:
    thursday = date(2027, 3, 25)  # the next day is Good Friday

    assert add_delay(thursday, working(1), METROPOLE, True) == date(2027, 3, 26)
    assert add_delay(thursday, working(1), MOSELLE, True) == date(2027, 3, 30)


def test_26_december_counts_in_metropole_but_not_in_moselle() -> None:
    wednesday = date(2025, 12, 24)

    assert add_delay(wednesday, working(2), METROPOLE, True) == date(2025, 12, 29)
    assert add_delay(wednesday, working(2), MOSELLE, True) == date(2025, 12, 30)


def test_working_days_cross_the_new_year() -> None:
    assert add_delay(date(2025, 12, 31), working(1), METROPOLE, True) == date(2026, 1, 2)


def test_five_working_days_span_a_weekend_and_a_holiday() -> None:
    # Monday 11 May 2026: Ascension on Thursday 14, weekend 16-17.
    assert add_delay(date(2026, 5, 11), working(5), METROPOLE, True) == date(2026, 5, 19)


def test_business_days_count_saturday_but_working_days_do_not() -> None:
    friday = date(2026, 7, 10)  # Monday after is 13, Tuesday 14 July is a holiday

    assert add_delay(friday, Delay(days=2, unit=DayUnit.BUSINESS), METROPOLE, True) == date(
        2026, 7, 13
    )
    assert add_delay(friday, working(2), METROPOLE, True) == date(2026, 7, 15)


def test_zero_working_days_on_a_sunday_means_the_next_working_day() -> None:
    assert add_delay(date(2026, 6, 7), working(0), METROPOLE, True) == date(2026, 6, 8)


# --- calendar days ------------------------------------------------------------


def test_calendar_days_landing_on_a_holiday_roll_forward_to_the_next_open_day() -> None:
    thursday = date(2026, 5, 7)  # + 7 days = Ascension

    assert add_delay(thursday, calendar_days(7), METROPOLE, True) == date(2026, 5, 15)
    assert add_delay(thursday, calendar_days(7), METROPOLE, False) == date(2026, 5, 14)


def test_calendar_days_roll_past_the_communes_own_closure(demo) -> None:
    # Demo commune: Ascension Thursday, then its "pont" closure on Friday 15 May 2026.
    due = add_delay(date(2026, 5, 7), calendar_days(7), demo.calendar, True)

    assert due == date(2026, 5, 18)


def test_calendar_days_landing_on_an_open_day_are_not_moved() -> None:
    assert add_delay(date(2026, 6, 1), calendar_days(7), METROPOLE, True) == date(2026, 6, 8)


# --- time zone ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Night of the switch to summer time: 23:30 UTC is 00:30 in Paris, next day.
        ("2026-03-28T23:30:00+00:00", date(2026, 3, 29)),
        ("2026-03-28T22:30:00+00:00", date(2026, 3, 28)),
        # Night of the switch back: 22:30 UTC is 00:30 summer time in Paris.
        ("2026-10-24T22:30:00+00:00", date(2026, 10, 25)),
        ("2026-10-24T21:30:00+00:00", date(2026, 10, 24)),
        # Winter: UTC+1; summer: UTC+2.
        ("2026-01-15T23:00:00+00:00", date(2026, 1, 16)),
        ("2026-07-15T22:00:00+00:00", date(2026, 7, 16)),
        ("2026-07-15T21:59:59+00:00", date(2026, 7, 15)),
    ],
)
def test_receipt_date_is_the_date_in_paris(moment: str, expected: date) -> None:
    assert local_date(datetime.fromisoformat(moment), PARIS) == expected


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        local_date(datetime(2026, 3, 28, 23, 30), PARIS)


def test_late_evening_web_request_counts_from_the_next_local_day(demo) -> None:
    received = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # Sunday 25 Oct 00:30 in Paris

    deadlines = compute_deadlines(demo.deadlines, demo.calendar, PARIS, "web", "chaussee", received)

    # 25 Oct + 7 = Sunday 1 Nov (All Saints' Day) -> Monday 2 Nov.
    assert deadlines.answer_due == date(2026, 11, 2)
    assert deadlines.acknowledgement_due == date(2026, 10, 26)


# --- rules of the demo commune ------------------------------------------------


def test_web_and_email_answer_within_a_week(demo) -> None:
    for channel in ("web", "email"):
        deadlines = compute_deadlines(
            demo.deadlines, demo.calendar, PARIS, channel, "chaussee", noon(date(2026, 6, 1))
        )
        assert deadlines.answer_due == date(2026, 6, 8)
        assert deadlines.acknowledgement_due == date(2026, 6, 2)


def test_letter_deadline_counts_from_sending_date_plus_transit(demo) -> None:
    sent_friday = date(2026, 10, 30)
    received_wednesday = noon(date(2026, 11, 4))

    with_postmark = compute_deadlines(
        demo.deadlines,
        demo.calendar,
        PARIS,
        "letter",
        "chaussee",
        received_wednesday,
        sent_on=sent_friday,
    )
    without_postmark = compute_deadlines(
        demo.deadlines, demo.calendar, PARIS, "letter", "chaussee", received_wednesday
    )

    # Sent 30 Oct + 3 transit days = 2 Nov, + 14 calendar days = Monday 16 Nov.
    assert with_postmark.answer_due == date(2026, 11, 16)
    # Unknown sending date: 14 days from receipt.
    assert without_postmark.answer_due == date(2026, 11, 18)
    # The acknowledgement always runs from receipt: 2 working days.
    assert with_postmark.acknowledgement_due == date(2026, 11, 6)
    assert with_postmark.rule_name == "Courrier postal (Marianne)"


def test_complaint_gets_fifteen_days_whatever_the_channel(demo) -> None:
    for channel in ("web", "email", "letter", "phone"):
        deadlines = compute_deadlines(
            demo.deadlines, demo.calendar, PARIS, channel, "reclamation", noon(date(2026, 6, 1))
        )
        assert deadlines.answer_due == date(2026, 6, 16), channel
        assert deadlines.rule_name.startswith("Réclamations"), channel


def test_waiting_for_the_citizen_pushes_the_answer_back(demo) -> None:
    received = noon(date(2026, 6, 1))
    normal = compute_deadlines(demo.deadlines, demo.calendar, PARIS, "web", None, received)
    paused = compute_deadlines(
        demo.deadlines, demo.calendar, PARIS, "web", None, received, paused_days=3
    )

    assert normal.answer_due == date(2026, 6, 8)
    assert paused.answer_due == date(2026, 6, 11)
    assert paused.acknowledgement_due == normal.acknowledgement_due


def test_moselle_commune_counts_working_days_without_good_friday(trifouillis) -> None:
    # Monday 29 March 2027 is Easter Monday; Good Friday was 26 March.
    received_thursday = noon(date(2027, 3, 25))

    deadlines = compute_deadlines(
        trifouillis.deadlines, trifouillis.calendar, PARIS, "email", None, received_thursday
    )

    # Working days: 30, 31 Mar, 1, 2, 5 Apr.
    assert deadlines.answer_due == date(2027, 4, 5)
    assert deadlines.acknowledgement_due == date(2027, 3, 30)


# --- rule selection ------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "category", "rule"),
    [
        ("letter", "reclamation", "Réclamations et suggestions (Qualiville)"),
        ("letter", "chaussee", "Courrier postal (Marianne)"),
        ("letter", None, "Courrier postal (Marianne)"),
        ("email", None, "Courriel et formulaire en ligne (Marianne)"),
        ("web", "suggestion", "Réclamations et suggestions (Qualiville)"),
        ("phone", "chaussee", "Autres canaux"),
        ("counter", None, "Autres canaux"),
    ],
)
def test_first_matching_rule_wins_else_default(demo, channel, category, rule) -> None:
    assert select_rule(demo.deadlines, channel, category).name == rule


def test_rule_order_decides_between_two_matching_rules() -> None:
    def rules(*names_and_conditions):
        return DeadlinesFile.model_validate(
            {
                "rules": [
                    {"name": name, **conditions, "answer": {"days": 1}}
                    for name, conditions in names_and_conditions
                ],
                "default": {"name": "défaut", "answer": {"days": 30}},
            }
        )

    letters = ("courrier", {"channels": ["letter"]})
    complaints = ("réclamation", {"categories": ["reclamation"]})

    assert select_rule(rules(letters, complaints), "letter", "reclamation").name == "courrier"
    assert select_rule(rules(complaints, letters), "letter", "reclamation").name == "réclamation"
    assert select_rule(rules(letters, complaints), "web", "autre").name == "défaut"


# --- implicit decisions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "months", "expected"),
    [
        (date(2026, 3, 15), 2, date(2026, 5, 15)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2027, 12, 31), 2, date(2028, 2, 29)),  # leap year
        (date(2026, 10, 31), 1, date(2026, 11, 30)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 1, 31), 12, date(2027, 1, 31)),
    ],
)
def test_silence_date_is_the_same_day_months_later(received, months, expected) -> None:
    assert silence_date(received, months) == expected


# --- properties ------------------------------------------------------------------

recent_days = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))
delays = st.builds(
    Delay,
    days=st.integers(min_value=0, max_value=40),
    unit=st.sampled_from(list(DayUnit)),
)
calendars = st.sampled_from([METROPOLE, MOSELLE, CommuneCalendar(subdivision="974")])


@given(start=recent_days, delay=delays, calendar=calendars)
def test_due_date_never_falls_on_a_closed_day(start, delay, calendar) -> None:
    due = add_delay(start, delay, calendar, roll_forward=True)

    if delay.unit is DayUnit.BUSINESS:
        assert calendar.is_business_day(due)
    else:
        assert calendar.is_working_day(due)
    assert due >= start + timedelta(days=delay.days)


@given(
    start=recent_days,
    later_by=st.integers(0, 60),
    delay=delays,
    calendar=calendars,
    roll=st.booleans(),
)
def test_a_later_receipt_never_gives_an_earlier_due_date(
    start, later_by, delay, calendar, roll
) -> None:
    later = start + timedelta(days=later_by)

    assert add_delay(later, delay, calendar, roll) >= add_delay(start, delay, calendar, roll)


@given(start=recent_days, delay=delays)
def test_extra_holidays_never_bring_a_deadline_forward(start, delay) -> None:
    """Moselle has every metropolitan holiday and two more."""
    assert add_delay(start, delay, MOSELLE, True) >= add_delay(start, delay, METROPOLE, True)


@given(start=recent_days, days=st.integers(1, 40), calendar=calendars)
def test_working_delay_counts_exactly_that_many_working_days(start, days, calendar) -> None:
    due = add_delay(start, working(days), calendar, True)
    counted = sum(
        calendar.is_working_day(start + timedelta(days=i)) for i in range(1, (due - start).days + 1)
    )

    assert counted == days


def test_complaint_sent_by_letter_counts_from_receipt(demo) -> None:
    # The complaints rule does not say count_from: sending, so the CRPA's receipt date holds.
    received = noon(date(2026, 11, 4))
    with_postmark = compute_deadlines(
        demo.deadlines, demo.calendar, PARIS, "letter", "reclamation", received,
        sent_on=date(2026, 10, 30),
    )
    assert with_postmark.answer_due == date(2026, 11, 19)
