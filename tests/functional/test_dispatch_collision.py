"""Collision warning: "X consulte aussi cette demande" from the presence the page reports."""

from __future__ import annotations

from tests.conftest import DEMO, csrf_token
from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    ECLAIRAGE,
    VOIRIE,
    signed_in,
    ticket_url,
)


def _ping(client, number: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/{DEMO}/agent/")
    return client.post(ticket_url(number, "consultation"), headers={"X-CSRFToken": token})


def test_an_agent_sees_who_else_has_the_ticket_open(app, pothole):
    chef, agent = signed_in(app, CHEF_VOIRIE), signed_in(app, VOIRIE)
    first = _ping(agent, pothole)
    assert first.status_code == 200 and first.get_json() == {"viewers": []}
    page = chef.get(ticket_url(pothole)).get_data(as_text=True)
    assert "Yves Lebrac consulte aussi cette demande." in page
    assert 'src="/t/champignac-en-cambrousse/dispatch.js"' in page or "dispatch.js" in page
    assert _ping(chef, pothole).get_json() == {"viewers": ["Yves Lebrac"]}
    assert _ping(agent, pothole).get_json() == {"viewers": ["Léon Prunelle"]}


def test_alone_on_the_ticket_no_warning(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    _ping(chef, pothole)
    page = chef.get(ticket_url(pothole)).get_data(as_text=True)
    banner = page.split('id="consultation"')[1].split("</div>")[0]
    assert " hidden" in banner.split(">")[0]
    assert "consulte" not in banner.split('data-many="')[1].split(">", 1)[1]


def test_presence_needs_view_and_csrf(app, pothole):
    assert _ping(signed_in(app, ECLAIRAGE), pothole).status_code == 404
    chef = signed_in(app, CHEF_VOIRIE)
    assert chef.post(ticket_url(pothole, "consultation")).status_code == 400
