"""Split: part of a request becomes a ticket of its own, same citizen and received date,
routed and dated by the intake rules, linked to the first and audited on both."""

from __future__ import annotations

import pytest

from tests.functional.dispatch_support import (
    COURRIER,
    ELU,
    UNSORTED,
    events,
    load,
    post_action,
    signed_in,
    ticket_url,
)


@pytest.fixture
def unsorted(file_request, demo_accounts) -> str:
    number, _ = file_request(description=UNSORTED)
    return number


def test_split_creates_a_linked_ticket_for_the_same_citizen(app, unsorted):
    client = signed_in(app, COURRIER)
    response = post_action(client, unsorted, "scission", subject="Lampadaire éteint",
                           description="Le lampadaire devant chez moi est éteint.",
                           category="eclairage-panne", service="")
    assert response.status_code == 303
    [split] = events(app, unsorted, "ticket.split")
    part_number = split.after["part"]
    source, part = load(app, unsorted), load(app, part_number)
    assert part.citizen_id == source.citizen_id
    assert part.received_at == source.received_at and part.channel == source.channel
    assert part.service_code == "eclairage"  # routed by the category's rules
    assert part.category_code == "eclairage-panne"
    assert events(app, part_number, "ticket.split_from")[0].after["source"] == unsorted
    assert events(app, part_number, "ticket.created")
    page = client.get(ticket_url(unsorted)).get_data(as_text=True)
    assert f"n° {part_number}" in page


def test_split_needs_a_description(app, unsorted):
    client = signed_in(app, COURRIER)
    response = post_action(client, unsorted, "scission", description="")
    assert response.status_code == 422
    assert "Décrivez la partie de la demande à séparer." in response.get_data(as_text=True)
    assert not events(app, unsorted, "ticket.split")


def test_a_reader_cannot_split(app, unsorted):
    response = post_action(signed_in(app, ELU), unsorted, "scission", description="Partie")
    assert response.status_code == 403
