"""The outbox's retry schedule: doubling delays, with a ceiling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketing.operations.outbox import MAX_ATTEMPTS, retry_delay


@pytest.mark.parametrize(
    ("attempts", "minutes"),
    [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 32), (7, 64), (8, 128), (9, 256)],
)
def test_delay_doubles_after_each_failure(attempts: int, minutes: int) -> None:
    assert retry_delay(attempts) == timedelta(minutes=minutes)


@pytest.mark.parametrize("attempts", [10, 11, 20, 100])
def test_delay_is_capped_at_six_hours(attempts: int) -> None:
    assert retry_delay(attempts) == timedelta(hours=6)


def test_delay_never_shrinks() -> None:
    delays = [retry_delay(n) for n in range(1, 30)]
    assert delays == sorted(delays)
    assert all(d > timedelta(0) for d in delays)


def test_every_attempt_before_the_last_has_a_delay() -> None:
    # drain_outbox schedules a retry after attempts 1 .. MAX_ATTEMPTS-1.
    assert MAX_ATTEMPTS >= 2
    assert all(retry_delay(n) >= timedelta(minutes=1) for n in range(1, MAX_ATTEMPTS))
