"""The pilot's exports need "export" on top of "view_dashboard": a service head whose role
lacks it sees the pilot pages without download links and gets 403 on every export."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import DEMO, login

PILOT = f"/{DEMO}/agent/pilotage"
EXPORTS = ("retards.csv", "retards.xlsx", "indicateurs.csv", "indicateurs.xlsx", "carte.csv",
           "carte.xlsx")
PAGES = ("", "indicateurs", "carte")


@pytest.fixture
def configs(configs):  # type: ignore[no-untyped-def]
    """The demo roles, the service head without "export"."""
    config = configs[DEMO]
    head = config.roles["chef_de_service"]
    roles = {**config.roles, "chef_de_service": head.model_copy(update={
        "permissions": [p for p in head.permissions if p != "export"]})}
    return {**configs, DEMO: replace(config, roles=roles)}


def test_without_export_the_pilot_shows_no_download(client, demo_accounts) -> None:  # type: ignore[no-untyped-def]
    login(client, "chef.voirie@champignac.example")
    for page in PAGES:
        response = client.get(f"{PILOT}/{page}")
        assert response.status_code == 200, page
        assert ".csv" not in response.get_data(as_text=True), page
    # The indicators page always offers its downloads to those who may export (below).
    for export in EXPORTS:
        assert client.get(f"{PILOT}/{export}").status_code == 403, export


def test_with_export_the_downloads_are_offered(client, demo_accounts) -> None:  # type: ignore[no-untyped-def]
    login(client, "cabinet@champignac.example")
    assert "indicateurs.csv" in client.get(f"{PILOT}/indicateurs").get_data(as_text=True)
    for export in EXPORTS:
        response = client.get(f"{PILOT}/{export}")
        assert response.status_code == 200, export
        assert response.headers["Content-Disposition"].startswith("attachment")
