"""The pilot's tile map: its markers endpoint (only what the reader may see, filtered like
the page) and the map page's Content-Security-Policy (the tile host, only when configured)."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO, OTHER, login, with_tile_url
from ticketing.models import Status
from ticketing.web.security import CSP

PILOT = f"/{DEMO}/agent/pilotage"
CABINET = "cabinet@champignac.example"
CHEF_VOIRIE = "chef.voirie@champignac.example"
AGENT_VOIRIE = "agent.voirie@champignac.example"
TILE_URL = "https://{s}.tuiles.example.org/carte/{z}/{x}/{y}.png"


@pytest.fixture
def configs(configs):  # type: ignore[no-untyped-def]
    return with_tile_url(configs, TILE_URL)


@pytest.fixture
def placed(app, demo_ctx, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    """Voirie: two placed (one in les-cepes), one not placed, one placed but closed;
    éclairage: one placed."""
    from sqlalchemy import select

    from ticketing.models import Ticket
    from ticketing.web.extensions import db

    center = demo_ctx.config.commune.map.center
    at = {"latitude": center.lat + 0.001, "longitude": center.lon + 0.001}
    hole = {"category_code": "chaussee", "description": "Un nid de poule rue des Érables."}
    numbers = {
        "voirie": file_request(zone_code="centre-bourg", **hole, **at)[0],
        "voirie_cepes": file_request(zone_code="les-cepes", **hole, **at)[0],
        "voirie_nowhere": file_request(**hole)[0],
        "voirie_closed": file_request(**hole, **at)[0],
        "eclairage": file_request(category_code="eclairage-panne", **at)[0],
    }
    with app.app_context():
        closed = db.session.scalars(
            select(Ticket).where(Ticket.number == numbers["voirie_closed"])).one()
        closed.status = Status.CLOSED
        db.session.commit()
    return numbers


def _numbers(client, query: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(f"{PILOT}/carte.json{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    return sorted(m["number"] for m in response.get_json()["markers"])


def test_markers_of_every_service_for_the_cabinet(client, placed, demo_ctx):  # type: ignore[no-untyped-def]
    demo_services = demo_ctx.config.services
    login(client, CABINET)
    assert _numbers(client) == sorted([placed["voirie"], placed["voirie_cepes"],
                                       placed["eclairage"]])
    marker = next(m for m in client.get(f"{PILOT}/carte.json").get_json()["markers"]
                  if m["number"] == placed["eclairage"])
    assert set(marker) == {"number", "lat", "lon", "service", "status", "status_label",
                           "overdue", "url"}
    assert marker["url"] == f"/{DEMO}/agent/tickets/{placed['eclairage']}"
    assert marker["service"] == demo_services["eclairage"].name
    assert marker["status"] == "new" and marker["overdue"] is False
    assert "Martin" not in str(marker)  # no citizen data


def test_markers_follow_the_page_filter(client, placed):  # type: ignore[no-untyped-def]
    login(client, CABINET)
    assert _numbers(client, "?quartier=les-cepes") == [placed["voirie_cepes"]]
    assert _numbers(client, "?elu=Marc+Bolet") == [placed["voirie_cepes"]]
    assert _numbers(client, "?categorie=eclairage-panne") == [placed["eclairage"]]


def test_chef_de_service_gets_only_his_services_markers(client, placed):  # type: ignore[no-untyped-def]
    login(client, CHEF_VOIRIE)
    assert _numbers(client) == sorted([placed["voirie"], placed["voirie_cepes"]])


def test_markers_refused_without_view_dashboard(client, placed):  # type: ignore[no-untyped-def]
    login(client, AGENT_VOIRIE)
    assert client.get(f"{PILOT}/carte.json").status_code == 403


def test_markers_need_a_signed_in_agent_of_the_commune(app, client, placed):  # type: ignore[no-untyped-def]
    response = client.get(f"{PILOT}/carte.json")
    assert response.status_code == 302 and "/agent/connexion" in response.headers["Location"]
    other = app.test_client()
    login(other, "accueil@trifouillis.example", commune=OTHER)
    assert other.get(f"{PILOT}/carte.json").status_code == 404


def test_map_page_allows_the_tile_host_and_loads_leaflet(client, placed):  # type: ignore[no-untyped-def]
    login(client, CABINET)
    response = client.get(f"{PILOT}/carte?quartier=les-cepes")
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tuiles.example.org;" in policy
    assert "connect-src 'self' https://*.tuiles.example.org;" in policy
    # Everything else as strict as the default.
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert policy.replace(" https://*.tuiles.example.org", "").replace(
        "connect-src 'self'; ", "") == CSP
    page = response.get_data(as_text=True)
    assert "vendor/leaflet/leaflet.js" in page and "pilot-map.js" in page
    assert f'data-markers-url="{PILOT}/carte.json?quartier=les-cepes"' in page
    assert "<script>" not in page  # no inline script: CSP forbids it
    # The blank map is still served, for browsers without JavaScript.
    assert 'class="map-marker"' in page
    # Other pilot pages keep the default policy.
    assert client.get(f"{PILOT}/").headers["Content-Security-Policy"] == CSP


def test_vendored_leaflet_is_served(client):  # type: ignore[no-untyped-def]
    for name in ("leaflet.js", "leaflet.css", "images/marker-icon.png", "LICENSE"):
        assert client.get(f"/theme/{DEMO}/vendor/leaflet/{name}").status_code == 200, name
    assert client.get(f"/theme/{DEMO}/pilot-map.js").status_code == 200
