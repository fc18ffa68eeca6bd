"""Without tiles configured, the pilot's map is the server-drawn blank map: no Leaflet,
and the default Content-Security-Policy."""

from __future__ import annotations

from tests.conftest import DEMO, login
from ticketing.web.security import CSP


def test_map_page_without_tiles_keeps_the_default_policy(client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "cabinet@champignac.example")
    response = client.get(f"/{DEMO}/agent/pilotage/carte")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    page = response.get_data(as_text=True)
    assert "leaflet" not in page and "pilot-map.js" not in page
    assert 'id="carte-demandes"' in page
