"""Copies for information: the copied service sees the ticket read-only, may add notes,
finds it in its queue marked "en copie", and may not reply, assign, transfer or close."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO, csrf_token
from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    ECLAIRAGE,
    VOIRIE,
    events,
    load,
    post_action,
    signed_in,
    ticket_url,
)


@pytest.fixture
def copied(app, pothole) -> str:
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "copie", services=["eclairage"])
    assert response.status_code == 303
    return pothole


def test_copy_is_audited_and_shown_to_the_owner(app, copied):
    [event] = events(app, copied, "ticket.copied")
    assert event.after["services"] == ["eclairage"]
    page = signed_in(app, CHEF_VOIRIE).get(ticket_url(copied)).get_data(as_text=True)
    assert "En copie pour information : Éclairage public." in page
    assert "Copie pour information (Éclairage public)" in page  # the history line


def test_the_copied_service_finds_it_in_its_queue_marked_as_a_copy(app, copied):
    queue = signed_in(app, ECLAIRAGE).get(f"/{DEMO}/agent/").get_data(as_text=True)
    assert copied in queue and "en copie" in queue


def test_the_copied_service_reads_it_and_may_add_a_note(app, copied):
    client = signed_in(app, ECLAIRAGE)
    page = client.get(ticket_url(copied)).get_data(as_text=True)
    assert "En copie pour information : vous pouvez lire" in page
    assert "Répondre à l'usager" not in page and "transfert-motif" not in page
    token = csrf_token(client, ticket_url(copied))
    response = client.post(ticket_url(copied, "note"),
                           data={"csrf_token": token, "body": "Le candélabre voisin aussi."})
    assert response.status_code == 303
    assert len(events(app, copied, "ticket.noted")) == 1


@pytest.mark.parametrize(("action", "data"), [
    ("reponse", {"body": "Nous passons demain.", "status": "answered"}),
    ("statut", {"status": "closed"}),
    ("prise-en-charge", {}),
    ("affectation", {"agent": ""}),
    ("transfert", {"service": "eclairage", "reason": "À nous"}),
    ("copie", {"services": ["proprete"]}),
    ("transmission", {"administration": "Département"}),
])
def test_the_copied_service_cannot_act_on_the_ticket(app, copied, action, data):
    client = signed_in(app, ECLAIRAGE)
    response = post_action(client, copied, action, **data)
    assert response.status_code == 403
    ticket = load(app, copied)
    assert ticket.service_code == "voirie" and ticket.status == "new"


def test_removing_the_copy_takes_the_ticket_away_from_that_service(app, copied):
    chef = signed_in(app, CHEF_VOIRIE)
    token = csrf_token(chef, ticket_url(copied))
    response = chef.post(ticket_url(copied, "copie/retirer"),
                         data={"csrf_token": token, "service": "eclairage"})
    assert response.status_code == 303
    assert events(app, copied, "ticket.copy_removed")
    assert signed_in(app, ECLAIRAGE).get(ticket_url(copied)).status_code == 404


def test_an_agent_without_the_copy_right_gets_403(app, pothole):
    agent = signed_in(app, VOIRIE)  # the "agent" role has no "copy"
    assert post_action(agent, pothole, "copie", services=["eclairage"]).status_code == 403
    assert not events(app, pothole, "ticket.copied")
