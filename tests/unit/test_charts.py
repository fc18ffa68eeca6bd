"""SVG charts and the map projection of the pilot: accessible, printable, no script."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from ticketing.reporting import charts
from ticketing.reporting.filters import Period
from ticketing.reporting.geo import View, geo_of, world_pixels
from ticketing.reporting.indicators import week_buckets

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def test_bar_chart_has_title_desc_and_a_text_label_per_bar() -> None:
    svg = _parse(charts.bar_chart("c1", "Par canal", "Demandes par canal", [
        ("Courriel", 4), ("Formulaire <en ligne>", 2), ("Courrier", 0)]))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{SVG}title").text == "Par canal"
    assert svg.find(f"{SVG}desc").text == "Demandes par canal"
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["Courriel", "4", "Formulaire <en ligne>", "2", "Courrier", "0"]
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1] and widths[2] == 0


def test_charts_escape_text_and_use_no_script_nor_inline_style() -> None:
    hostile = '</title><script>alert(1)</script><text style="x">'
    for markup in (
        charts.bar_chart("c", hostile, hostile, [(hostile, 1)]),
        charts.column_chart("c", hostile, hostile, [(hostile, 1)]),
        charts.marker_map("c", hostile, hostile,
                          [charts.Marker(10, 10, '"/x?a=1&b=2', hostile, True)], 100, 100),
    ):
        svg = _parse(markup)  # well-formed despite the hostile text
        assert not list(svg.iter(f"{SVG}script"))
        assert all("style" not in element.attrib for element in svg.iter())


def test_column_chart_scales_columns_and_labels_weeks() -> None:
    svg = _parse(charts.column_chart("w", "Par semaine", "d", [("03/03", 5), ("10/03", 0),
                                                                 ("17/03", 10)]))
    heights = [float(r.get("height")) for r in svg.iter(f"{SVG}rect")]
    assert heights[2] == 2 * heights[0] and heights[1] == 0
    assert {"03/03", "10/03", "17/03"} <= {t.text for t in svg.iter(f"{SVG}text")}


def test_empty_charts_still_render() -> None:
    assert _parse(charts.bar_chart("e", "t", "d", [])) is not None
    assert _parse(charts.column_chart("e", "t", "d", [])) is not None


def test_map_markers_are_links_with_a_title_and_late_ones_are_squares() -> None:
    svg = _parse(charts.marker_map("m", "Carte", "d", [
        charts.Marker(100, 50, "/a", "2025-000001 — nid-de-poule", True),
        charts.Marker(200, 80, "/b", "2025-000002", False)], 400, 300))
    links = list(svg.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/a", "/b"]
    assert links[0].find(f"{SVG}rect") is not None and links[1].find(f"{SVG}circle") is not None
    assert links[0].find(f"{SVG}title").text == "2025-000001 — nid-de-poule"


def test_projection_centres_the_view_and_drops_points_outside() -> None:
    view = View(45.045, 3.885, 14)
    assert view.project(45.045, 3.885) == pytest.approx((400, 280))
    east = view.project(45.045, 3.886)
    assert east is not None and east[0] > 400
    north = view.project(45.046, 3.885)
    assert north is not None and north[1] < 280
    assert view.project(48.8566, 2.3522) is None
    south, west, north_lat, east_lon = view.bounds()
    assert south < 45.045 < north_lat and west < 3.885 < east_lon


def test_world_pixels_round_trip() -> None:
    x, y = world_pixels(45.045, 3.885, 14)
    assert geo_of(x, y, 14) == pytest.approx((45.045, 3.885))


def test_week_buckets_cut_the_period_on_mondays() -> None:
    buckets = week_buckets(Period(date(2025, 3, 5), date(2025, 3, 18)))
    assert buckets == [
        (date(2025, 3, 3), date(2025, 3, 5), date(2025, 3, 10)),
        (date(2025, 3, 10), date(2025, 3, 10), date(2025, 3, 17)),
        (date(2025, 3, 17), date(2025, 3, 17), date(2025, 3, 18)),
    ]


def test_reporting_does_not_import_flask_or_the_web_layer() -> None:
    for file in sorted((ROOT / "ticketing" / "reporting").glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("flask", "ticketing.web")), (file.name, name)
