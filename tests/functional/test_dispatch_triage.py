"""The triage queue of the courrier service: qualify (category) and dispatch to a service."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO
from tests.functional.dispatch_support import (
    CABINET,
    COURRIER,
    UNSORTED,
    VOIRIE,
    events,
    load,
    post_action,
    signed_in,
)

TRIAGE = f"/{DEMO}/agent/a-trier"


@pytest.fixture
def unsorted(file_request, demo_accounts) -> str:
    number, _ = file_request(description=UNSORTED)
    return number


def test_the_triage_queue_lists_the_courrier_tickets(app, unsorted):
    assert load(app, unsorted).service_code == "courrier"
    client = signed_in(app, COURRIER)
    queue = client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    assert 'href="/champignac-en-cambrousse/agent/a-trier"' in queue  # the nav entry
    page = client.get(TRIAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'/agent/tickets/{unsorted}"' in html
    # One form per row: each label names its own row's field.
    assert '<label for="category">' not in html and '<label for="tri-' in html


def test_the_cabinet_may_triage_too(app, unsorted):
    assert signed_in(app, CABINET).get(TRIAGE).status_code == 200


def test_an_agent_without_the_right_has_no_triage_queue(app, unsorted):
    client = signed_in(app, VOIRIE)
    assert "a-trier" not in client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    assert client.get(TRIAGE).status_code == 403


def test_qualify_and_dispatch_from_the_triage_queue(app, unsorted):
    client = signed_in(app, COURRIER)
    response = post_action(client, unsorted, "orienter", category="chaussee", service="voirie",
                           depuis="tri")
    assert response.status_code == 303 and response.headers["Location"].endswith("/a-trier")
    ticket = load(app, unsorted)
    assert (ticket.category_code, ticket.service_code) == ("chaussee", "voirie")
    [qualified] = events(app, unsorted, "ticket.qualified")
    assert qualified.after == {"category_code": "chaussee"}
    [dispatched] = events(app, unsorted, "ticket.dispatched")
    assert dispatched.before["service_code"] == "courrier"
    page = client.get(TRIAGE).get_data(as_text=True)
    assert "orientée vers : Voirie" in page  # the confirmation
    assert f'/agent/tickets/{unsorted}"' not in page  # no longer to triage
    # The voirie agent now finds it in the voirie queue.
    assert unsorted in signed_in(app, VOIRIE).get(f"/{DEMO}/agent/").get_data(as_text=True)


def test_qualify_only_keeps_the_ticket_in_triage(app, unsorted):
    client = signed_in(app, COURRIER)
    response = post_action(client, unsorted, "orienter", category="proprete",
                           service="courrier")
    assert response.status_code == 303
    ticket = load(app, unsorted)
    assert (ticket.category_code, ticket.service_code) == ("proprete", "courrier")
    assert not events(app, unsorted, "ticket.dispatched")
    assert "qualifiée ; elle reste à trier." in client.get(
        f"/{DEMO}/agent/tickets/{unsorted}").get_data(as_text=True)


def test_an_unknown_service_is_refused(app, unsorted):
    client = signed_in(app, COURRIER)
    response = post_action(client, unsorted, "orienter", category="", service="nulle-part")
    assert response.status_code == 422
    assert load(app, unsorted).service_code == "courrier"
