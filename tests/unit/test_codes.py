"""Ticket numbers and tracking codes, as printed on an acknowledgement and typed back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketing.domain.codes import (
    TRACKING_ALPHABET,
    format_ticket_number,
    new_tracking_code,
    normalise_tracking_code,
)

CODE_SHAPE = re.compile(rf"^[{TRACKING_ALPHABET}]{{4}}-[{TRACKING_ALPHABET}]{{4}}$")


def test_tracking_code_is_two_groups_of_four_unambiguous_characters() -> None:
    for _ in range(200):
        code = new_tracking_code()
        assert CODE_SHAPE.match(code), code
        assert not set(code) & set("ILOU"), code


def test_alphabet_has_32_symbols_without_look_alikes() -> None:
    assert len(set(TRACKING_ALPHABET)) == 32
    assert not set(TRACKING_ALPHABET) & set("ILOU")


def test_tracking_codes_are_random() -> None:
    codes = {new_tracking_code() for _ in range(1000)}

    assert len(codes) == 1000


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ABCD-EFGH", "ABCD-EFGH"),
        ("abcd-efgh", "ABCD-EFGH"),
        ("abcd efgh", "ABCD-EFGH"),
        (" ab cd ef gh ", "ABCD-EFGH"),
        ("ABCDEFGH", "ABCD-EFGH"),
        ("7O0O-1234", "7000-1234"),  # letter O read as zero
        ("1ilL-2345", "1111-2345"),  # I and L read as one
    ],
)
def test_code_is_read_the_way_a_citizen_types_it(typed: str, expected: str) -> None:
    assert normalise_tracking_code(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFGU", "ÀBCD-EFGH", "2026-000123"],
    ids=["empty", "too-short", "too-long", "U-not-in-alphabet", "accent", "ticket-number"],
)
def test_malformed_code_is_rejected(typed: str) -> None:
    assert normalise_tracking_code(typed) is None


@given(st.text(alphabet=TRACKING_ALPHABET, min_size=8, max_size=8))
def test_any_code_survives_lower_case_and_spaces(raw: str) -> None:
    code = f"{raw[:4]}-{raw[4:]}"
    typed = " ".join(raw.lower())

    assert normalise_tracking_code(typed) == code
    assert normalise_tracking_code(code) == code


def test_ticket_number_is_year_and_six_digit_sequence() -> None:
    assert format_ticket_number(2026, 1) == "2026-000001"
    assert format_ticket_number(2026, 123) == "2026-000123"
    assert format_ticket_number(2027, 999_999) == "2027-999999"


def test_ticket_numbers_sort_in_arrival_order_within_a_year() -> None:
    numbers = [format_ticket_number(2026, n) for n in (9, 10, 99, 100, 1000)]

    assert sorted(numbers) == numbers
