"""Fixtures shared by the functional tests of the agent workspace."""

from __future__ import annotations

import pytest

from tests.functional.dispatch_support import POTHOLE


@pytest.fixture
def pothole(file_request, demo_accounts) -> str:  # type: ignore[no-untyped-def]
    """A pothole report, routed to the Voirie service; returns its number."""
    number, _ = file_request(category_code="chaussee", description=POTHOLE,
                             extra_fields={"adresse": "3 rue des Érables"})
    return number
