"""Transfer to another service: mandatory reason, leaves the first queue, history shows both."""

from __future__ import annotations

from tests.conftest import DEMO, csrf_token
from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    ECLAIRAGE,
    VERSION,
    VOIRIE,
    events,
    load,
    post_action,
    signed_in,
    ticket_url,
)


def test_transfer_moves_the_ticket_and_keeps_the_reason(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "transfert", service="eclairage",
                           reason="Il s'agit d'un candélabre, pas de la chaussée.")
    assert response.status_code == 303
    ticket = load(app, pothole)
    assert ticket.service_code == "eclairage" and ticket.assignee_id is None
    [event] = events(app, pothole, "ticket.transferred")
    assert event.before["service_code"] == "voirie"
    assert event.after["service_code"] == "eclairage"
    assert "candélabre" in event.after["reason"]
    # It left the voirie queue: the voirie chief no longer sees it at all.
    assert chef.get(ticket_url(pothole)).status_code == 404
    assert pothole not in chef.get(f"/{DEMO}/agent/").get_data(as_text=True)
    # The new service sees it in its queue, and its history shows both services and why.
    eclairage = signed_in(app, ECLAIRAGE)
    assert pothole in eclairage.get(f"/{DEMO}/agent/").get_data(as_text=True)
    page = eclairage.get(ticket_url(pothole)).get_data(as_text=True)
    assert "Transférée" in page and "Voirie → Éclairage public" in page
    assert "candélabre" in page


def test_transfer_without_a_reason_is_refused_in_french(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "transfert", service="eclairage", reason="  ")
    assert response.status_code == 422
    assert "Indiquez le motif du transfert." in response.get_data(as_text=True)
    assert load(app, pothole).service_code == "voirie"


def test_an_agent_without_the_transfer_right_gets_403(app, pothole):
    agent = signed_in(app, VOIRIE)  # the "agent" role has no "transfer"
    page = agent.get(ticket_url(pothole)).get_data(as_text=True)
    assert "transfert-motif" not in page
    response = post_action(agent, pothole, "transfert", service="eclairage", reason="Erreur")
    assert response.status_code == 403
    assert load(app, pothole).service_code == "voirie"


def test_an_agent_who_cannot_view_the_ticket_gets_404(app, pothole):
    other = signed_in(app, ECLAIRAGE)
    response = post_action(other, pothole, "transfert", service="eclairage", reason="Erreur")
    assert response.status_code == 404


def test_a_transfer_decided_on_a_stale_page_is_not_applied(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    page = chef.get(ticket_url(pothole)).get_data(as_text=True)
    stale = VERSION.search(page).group(1)
    # Meanwhile a colleague takes the ticket.
    agent = signed_in(app, VOIRIE)
    token = csrf_token(agent, ticket_url(pothole))
    assert agent.post(ticket_url(pothole, "prise-en-charge"),
                      data={"csrf_token": token}).status_code == 303
    response = post_action(chef, pothole, "transfert", service="eclairage",
                           reason="Candélabre", version=stale)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "modifiée par quelqu'un d'autre" in body
    assert load(app, pothole).service_code == "voirie"
    # Sending the form shown again applies it.
    fresh = VERSION.search(body).group(1)
    response = post_action(chef, pothole, "transfert", service="eclairage",
                           reason="Candélabre", version=fresh)
    assert response.status_code == 303
    assert load(app, pothole).service_code == "eclairage"
