"""The reopening condition of the pilot's partial index is SQL text with the statuses
written in: it must name exactly the statuses of the model."""

from __future__ import annotations

import re

import pytest

from ticketing.models.ticket import OPEN_STATUSES, REOPENING_WHERE, Status


@pytest.mark.parametrize("dialect", sorted(REOPENING_WHERE))
def test_the_condition_names_the_statuses_of_a_reopening(dialect: str) -> None:
    before, after = re.findall(r"IN \(([^)]*)\)", str(REOPENING_WHERE[dialect]))
    assert set(re.findall(r"'([a-z_]+)'", before)) == {Status.ANSWERED, Status.CLOSED}
    assert set(re.findall(r"'([a-z_]+)'", after)) == set(OPEN_STATUSES)
