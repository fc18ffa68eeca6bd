"""Which days a mairie is closed: public holidays by territory, plus its own closures."""

from __future__ import annotations

from datetime import date

import pytest

from ticketing.domain.calendar import CommuneCalendar, normalise_subdivision

METROPOLE = CommuneCalendar()
MOSELLE = CommuneCalendar(subdivision="57")
ALSACE = CommuneCalendar(subdivision="6AE")
REUNION = CommuneCalendar(subdivision="974")


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),  # Ascension
        date(2026, 5, 25),  # Whit Monday
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ],
)
def test_the_eleven_national_holidays_close_every_mairie(day: date) -> None:
    for calendar in (METROPOLE, MOSELLE, ALSACE, REUNION):
        assert calendar.is_holiday(day)
        assert calendar.is_closed(day)
        assert not calendar.is_working_day(day)


def test_ascension_2026_is_thursday_14_may() -> None:
    assert METROPOLE.is_holiday(date(2026, 5, 14))
    assert not METROPOLE.is_holiday(date(2026, 5, 15))  # the "pont" is not a holiday by law


@pytest.mark.parametrize("calendar", [MOSELLE, ALSACE], ids=["57", "6AE"])
@pytest.mark.parametrize(
    "day",
    [date(2026, 4, 3), date(2027, 3, 26), date(2026, 12, 26), date(2025, 12, 26)],
    ids=["good-friday-2026", "good-friday-2027", "26-dec-2026", "26-dec-2025"],
)
def test_alsace_moselle_adds_good_friday_and_26_december(
    calendar: CommuneCalendar, day: date
) -> None:
    assert calendar.is_holiday(day)
    assert not METROPOLE.is_holiday(day)


def test_reunion_adds_abolition_of_slavery_on_20_december() -> None:
    assert REUNION.is_holiday(date(2026, 12, 20))
    assert not METROPOLE.is_holiday(date(2026, 12, 20))
    assert not REUNION.is_holiday(date(2026, 4, 3))  # no Good Friday in La Réunion


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("FR", None),
        ("57", "57"),
        ("6AE", "6AE"),
        ("974", "974"),
        ("Moselle", "57"),
        ("Alsace", "6AE"),
        ("RE", "974"),
        ("Guadeloupe", "971"),
    ],
)
def test_subdivision_codes_and_aliases(code: str, expected: str | None) -> None:
    assert normalise_subdivision(code) == expected


@pytest.mark.parametrize("code", ["GES", "Zone A", "fr", "67", ""])
def test_unknown_subdivision_raises_with_the_list_of_codes(code: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalise_subdivision(code)
    assert repr(code) in str(caught.value)
    assert "57" in str(caught.value)


def test_weekends_are_not_working_days_but_saturday_is_a_business_day() -> None:
    saturday, sunday, monday = date(2026, 6, 6), date(2026, 6, 7), date(2026, 6, 8)

    assert not METROPOLE.is_working_day(saturday)
    assert METROPOLE.is_business_day(saturday)  # jour ouvrable
    assert not METROPOLE.is_business_day(sunday)
    assert METROPOLE.is_working_day(monday)


def test_commune_closure_day_is_closed_without_being_a_holiday() -> None:
    pont = date(2027, 5, 7)
    calendar = CommuneCalendar(closed_days=frozenset({pont}))

    assert calendar.is_closed(pont)
    assert not calendar.is_holiday(pont)
    assert not calendar.is_working_day(pont)
    assert METROPOLE.is_working_day(pont)


def test_removed_holiday_becomes_an_open_day() -> None:
    whit_monday = date(2026, 5, 25)  # journée de solidarité: some mairies open
    calendar = CommuneCalendar(removed_holidays=frozenset({whit_monday}))

    assert not calendar.is_holiday(whit_monday)
    assert calendar.is_working_day(whit_monday)


def test_next_working_day_skips_weekend_and_holidays() -> None:
    # Friday 25 Dec 2026 (Christmas), then the weekend.
    assert METROPOLE.next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)
    # Good Friday 2027 in Moselle, then the weekend, then Easter Monday.
    assert MOSELLE.next_working_day(date(2027, 3, 26)) == date(2027, 3, 30)
    assert METROPOLE.next_working_day(date(2027, 3, 26)) == date(2027, 3, 26)
