"""The cabinet opens the pilot's dashboard, indicators and map in Chromium; screenshots."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import DEMO, DEMO_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def geolocated(app, demo_ctx, demo_accounts):  # type: ignore[no-untyped-def]
    """Three open tickets near the commune's map centre, one of them late."""
    from ticketing.config.schema import Channel
    from ticketing.operations.events import Actor
    from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
    from ticketing.web.extensions import db

    center = demo_ctx.config.commune.map.center
    numbers = []
    with app.app_context():
        for index, (zone, category) in enumerate([("centre-bourg", "chaussee"),
                                                  ("les-cepes", "eclairage-panne"),
                                                  ("zone-artisanale", "depot-sauvage")]):
            ticket = submit_request(db.session, demo_ctx, IntakeRequest(
                channel=Channel.WEB, category_code=category,
                received_at=datetime.now(UTC) - timedelta(days=20 - index),
                description=f"Signalement n° {index} près de la place.",
                extra_fields={"lieu": "Place de la Mairie"},
                citizen=CitizenDetails(last_name="Martin", email="camille.martin@example.org"),
                zone_code=zone, latitude=center.lat + 0.003 * (index - 1),
                longitude=center.lon + 0.004 * (1 - index),
            ), Actor.citizen("test"))
            if index == 0:
                ticket.answer_due_on = datetime.now(UTC).date() - timedelta(days=4)
            numbers.append(ticket.number)
        db.session.commit()
    return numbers


def test_cabinet_opens_dashboard_and_map(live_server, page, geolocated, tmp_path):  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/{DEMO}/agent/connexion")
    page.get_by_label("Adresse électronique").fill("cabinet@champignac.example")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Pilotage").click()
    page.wait_for_url(re.compile(r"/agent/pilotage/$"))
    assert page.get_by_role("heading", name="Demandes en retard et bientôt dues").is_visible()
    assert page.get_by_role("link", name=geolocated[0]).count() == 1
    shot = tmp_path / "tableau-de-bord.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000

    page.get_by_role("link", name="Indicateurs").click()
    page.wait_for_url(re.compile(r"/pilotage/indicateurs"))
    assert page.locator("svg.chart").count() == 3
    page.screenshot(path=str(tmp_path / "indicateurs.png"), full_page=True)

    page.get_by_role("link", name="Carte").click()
    page.wait_for_url(re.compile(r"/pilotage/carte"))
    markers = page.locator("svg a.map-marker")
    assert markers.count() == 3
    box = page.locator("#carte-demandes").bounding_box()
    assert box is not None and box["width"] > 300
    shot = tmp_path / "carte.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 1000

    # Each marker is a link to its ticket.
    page.locator(f'svg a.map-marker[href$="/tickets/{geolocated[0]}"]').click()
    page.wait_for_url(re.compile(rf"/agent/tickets/{geolocated[0]}$"))
    assert page.script_errors == []  # type: ignore[attr-defined]
