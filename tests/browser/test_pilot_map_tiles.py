"""With map tiles configured, the pilot's map is a Leaflet map fed by carte.json, its tiles
from a small tile server started here on the loopback (the page's CSP must allow it)."""

from __future__ import annotations

import re
import struct
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import DEMO, DEMO_PASSWORD, with_tile_url

pytestmark = pytest.mark.browser


def _png(size: int = 256) -> bytes:
    """A plain light-grey square PNG (8-bit greyscale)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xdd" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


class _Tiles(BaseHTTPRequestHandler):
    tile = _png()
    served: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if not re.fullmatch(r"/tuiles/\d+/\d+/\d+\.png", self.path):
            self.send_error(404)
            return
        self.served.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.tile)))
        self.end_headers()
        self.wfile.write(self.tile)

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def tile_server() -> Iterator[str]:
    _Tiles.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def configs(configs, tile_server):  # type: ignore[no-untyped-def]
    return with_tile_url(configs, f"{tile_server}/tuiles/{{z}}/{{x}}/{{y}}.png")


@pytest.fixture
def geolocated(app, demo_ctx, demo_accounts) -> list[str]:  # type: ignore[no-untyped-def]
    """Three open tickets around the map centre, the first one late."""
    from ticketing.config.schema import Channel
    from ticketing.operations.events import Actor
    from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
    from ticketing.web.extensions import db

    center = demo_ctx.config.commune.map.center
    numbers = []
    with app.app_context():
        for index in range(3):
            ticket = submit_request(db.session, demo_ctx, IntakeRequest(
                channel=Channel.WEB, category_code="chaussee",
                received_at=datetime.now(UTC) - timedelta(days=10),
                description=f"Nid de poule n° {index} près de la place.",
                citizen=CitizenDetails(last_name="Martin", email="camille.martin@example.org"),
                latitude=center.lat + 0.002 * (index - 1),
                longitude=center.lon + 0.003 * (1 - index),
            ), Actor.citizen("test"))
            if index == 0:
                ticket.answer_due_on = datetime.now(UTC).date() - timedelta(days=2)
            numbers.append(ticket.number)
        db.session.commit()
    return numbers


def test_leaflet_map_with_tiles_and_markers(live_server, page, geolocated, tmp_path):  # type: ignore[no-untyped-def]
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error"
            and "favicon" not in msg.location.get("url", "")  # the site has none
            and console_errors.append(msg.text))
    page.goto(f"{live_server}/{DEMO}/agent/connexion")
    page.get_by_label("Adresse électronique").fill("cabinet@champignac.example")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/agent/$"))

    page.goto(f"{live_server}/{DEMO}/agent/pilotage/carte")
    page.wait_for_selector("#carte-tuiles[data-state=ready]", timeout=10000)
    markers = page.locator("#carte-tuiles .leaflet-marker-icon")
    assert markers.count() == 3
    assert page.get_by_role("button", name="Zoomer", exact=True).count() == 1
    assert page.locator("#carte-neutre").is_hidden()  # the blank map gives way
    # (a selector, not wait_for_function: the page's CSP forbids the eval it polls with)
    page.wait_for_selector("#carte-tuiles img.leaflet-tile-loaded", timeout=10000)
    assert _Tiles.served, "no tile was requested from the tile server"
    assert page.locator(f'#carte-tuiles .leaflet-marker-icon[title^="{geolocated[0]}"]')\
        .get_attribute("title") == f"{geolocated[0]} — En retard"
    shot = tmp_path / "carte-tuiles.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000

    # A marker opens a popup whose link leads to the ticket.
    page.locator(f'#carte-tuiles .leaflet-marker-icon[title^="{geolocated[1]}"]').click()
    assert page.locator(".leaflet-popup-close-button").get_attribute("aria-label") == "Fermer"
    page.locator(".leaflet-popup-content a").click()
    page.wait_for_url(re.compile(rf"/agent/tickets/{geolocated[1]}$"))

    assert page.script_errors == []  # type: ignore[attr-defined]
    assert console_errors == []  # a CSP refusal would show here
