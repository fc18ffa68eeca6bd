"""The administrator creates an agent, gives a role, then finds it in the audit journal
and exports it, in Chromium."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DEMO, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_administrator_creates_an_agent_and_reads_the_journal(  # type: ignore[no-untyped-def]
        live_server, page, demo_accounts, tmp_path):
    page.goto(f"{live_server}/{DEMO}/agent/connexion")
    page.get_by_label("Adresse électronique").fill("admin@champignac.example")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.get_by_role("link", name="Agents", exact=True).click()
    page.wait_for_url(re.compile(r"/agent/admin/agents$"))
    page.get_by_role("link", name="Créer un compte d'agent").click()
    page.get_by_label("Adresse électronique").fill("marsupilami@champignac.example")
    page.get_by_label("Nom et prénom").fill("Marsu Pilami")
    page.get_by_label("Fonction").fill("Agent des espaces verts")
    page.get_by_label("Service", exact=True).select_option("voirie")
    page.get_by_label("Rôle dans ce service").select_option("agent")
    page.get_by_role("button", name="Créer le compte").click()
    page.wait_for_url(re.compile(r"/agent/admin/agents/\d+$"))
    assert page.get_by_text("une invitation à choisir un mot de passe").is_visible()

    page.get_by_label("Service", exact=True).select_option("eclairage")
    page.get_by_label("Rôle", exact=True).select_option("chef_de_service")
    page.get_by_role("button", name="Attribuer ce rôle").click()
    assert page.get_by_text("Rôle attribué.").is_visible()

    page.get_by_role("link", name="Journal d'audit").click()
    page.wait_for_url(re.compile(r"/agent/admin/journal"))
    page.get_by_label("Action").select_option("agent.role_granted")
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("table.audit-journal tbody tr")
    assert rows.count() == 1
    assert "Jules Boulier" in rows.first.inner_text()
    assert "chef_de_service" in rows.first.inner_text()

    with page.expect_download() as download:
        page.get_by_role("button", name="Exporter en CSV").click()
    path = tmp_path / "journal.csv"
    download.value.save_as(path)
    lines = path.read_text(encoding="utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "Rôle attribué" in lines[1]
    assert page.script_errors == []  # type: ignore[attr-defined]
