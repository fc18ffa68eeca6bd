"""The triage queue in pages of 50: the total is shown, the 51st ticket is one "Page
suivante" away, and no page number in the address can break the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.conftest import DEMO
from tests.functional.dispatch_support import COURRIER, UNSORTED, load, post_action, signed_in
from ticketing.config.schema import Channel
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
from ticketing.web.extensions import db

TRIAGE = f"/{DEMO}/agent/a-trier"
TICKET_LINK = re.compile(r'<th scope="row"><a href="/[^"]+/agent/tickets/([^"]+)">')


@pytest.fixture
def fifty_five(app, demo_accounts) -> list[str]:  # type: ignore[no-untyped-def]
    """55 unsorted tickets, all due the same day: the queue orders them as filed."""
    ctx = app.extensions["aiguillage"].context(DEMO)
    received = datetime.now(UTC)
    with app.app_context():
        numbers = [submit_request(db.session, ctx, IntakeRequest(
            channel=Channel.WEB, description=f"{UNSORTED} ({i})", received_at=received,
            citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                                   email="camille.martin@example.org")),
            Actor.citizen("test")).number for i in range(55)]
        db.session.commit()
    return numbers


def _listed(html: str) -> list[str]:
    return TICKET_LINK.findall(html)


def test_the_51st_ticket_to_triage_is_on_the_second_page(app, fifty_five):
    client = signed_in(app, COURRIER)
    first = client.get(TRIAGE).get_data(as_text=True)
    assert _listed(first) == fifty_five[:50]
    assert "55 demandes à trier." in first and "Lignes 1 à 50 sur 55" in first
    assert "Page 1 sur 2" in first and "Page précédente" not in first
    assert f'href="{TRIAGE}?page=2" rel="next">Page suivante' in first

    second = client.get(f"{TRIAGE}?page=2").get_data(as_text=True)
    assert _listed(second) == fifty_five[50:]
    assert "Lignes 51 à 55 sur 55" in second and "Page 2 sur 2" in second
    assert f'href="{TRIAGE}" rel="prev">Page précédente' in second
    assert "Page suivante" not in second


def test_dispatching_from_the_second_page_comes_back_to_it(app, fifty_five):
    client = signed_in(app, COURRIER)
    page = client.get(f"{TRIAGE}?page=2").get_data(as_text=True)
    assert 'name="page" value="2"' in page
    number = fifty_five[52]
    response = post_action(client, number, "orienter", category="chaussee",
                           service="voirie", depuis="tri", page="2")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/a-trier?page=2")
    assert load(app, number).service_code == "voirie"
    assert _listed(client.get(f"{TRIAGE}?page=2").get_data(as_text=True)) == [
        n for n in fifty_five[50:] if n != number]


@pytest.mark.parametrize("junk", ["abc", "0", "-1", "1.5", "", "%20", "1e3", "²", "٣",
                                  "9" * 30])
def test_a_junk_page_number_shows_a_page_not_an_error(app, fifty_five, junk):
    client = signed_in(app, COURRIER)
    response = client.get(f"{TRIAGE}?page={junk}")
    assert response.status_code == 200
    assert len(_listed(response.get_data(as_text=True))) == 50  # the first page


def test_a_page_past_the_end_shows_the_last_one(app, fifty_five):
    client = signed_in(app, COURRIER)
    for past in ("3", "999999999"):
        html = client.get(f"{TRIAGE}?page={past}").get_data(as_text=True)
        assert _listed(html) == fifty_five[50:] and "Page 2 sur 2" in html


def test_a_short_queue_has_no_pager(app, fifty_five):
    client = signed_in(app, COURRIER)
    for number in fifty_five[:10]:
        post_action(client, number, "orienter", category="chaussee", service="voirie")
    html = client.get(TRIAGE).get_data(as_text=True)
    assert len(_listed(html)) == 45 and "45 demandes à trier." in html
    assert 'class="pager"' not in html
