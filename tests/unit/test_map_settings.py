"""commune.yaml `map:`: the tile URL template is checked, its origin is a CSP source."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ticketing.config.schema import MapSettings
from ticketing.web.security import CSP, csp_with_images_from

CENTER = {"lat": 45.045, "lon": 3.885}


@pytest.mark.parametrize(("url", "origin"), [
    (None, None),
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
    ("http://127.0.0.1:8123/tuiles/{z}/{x}/{y}.png", "http://127.0.0.1:8123"),
])
def test_tile_origin(url, origin):  # type: ignore[no-untyped-def]
    assert MapSettings(center=CENTER, tile_url=url).tile_origin == origin


@pytest.mark.parametrize("url", [
    "javascript:alert(1)//{z}/{x}/{y}",
    "ftp://tiles.example.org/{z}/{x}/{y}.png",
    "https://tiles.example.org/carte.png",
    "https://tiles.example.org;script-src *//{z}/{x}/{y}",
    "https://a.{s}.example.org/{z}/{x}/{y}.png",
    "https://user@tiles.example.org/{z}/{x}/{y}.png",
])
def test_unusable_tile_urls_are_refused(url):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        MapSettings(center=CENTER, tile_url=url)


def test_policy_with_tiles_only_adds_the_tile_origin():  # type: ignore[no-untyped-def]
    policy = csp_with_images_from("https://tile.openstreetmap.org")
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "connect-src 'self' https://tile.openstreetmap.org;" in policy
    assert policy.replace(" https://tile.openstreetmap.org", "").replace(
        "connect-src 'self'; ", "") == CSP
