"""In a real browser: the mail agent registers a letter with its scan, prints the slip,
finds the letter in the queue with its channel icon."""

from __future__ import annotations

import io
import os
import re

import pypdf
import pytest

from tests.conftest import DEMO, DEMO_PASSWORD

pytestmark = pytest.mark.browser

SCAN = b"%PDF-1.4\n% courrier numerise\n%%EOF\n"
SHOTS = os.environ.get("AIGUILLAGE_SCREENSHOTS")  # a folder: keep screenshots to look at


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_the_mail_agent_registers_a_letter_and_prints_its_slip(  # type: ignore[no-untyped-def]
    live_server, browser, demo_accounts
):
    agent = browser.new_context(locale="fr-FR", accept_downloads=True).new_page()
    agent.goto(f"{live_server}/{DEMO}/agent/connexion")
    agent.get_by_label("Adresse électronique").fill("courrier@champignac.example")
    agent.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Se connecter").click()

    agent.get_by_role("link", name="Enregistrer", exact=True).click()
    agent.get_by_role("link", name="Enregistrer un courrier").click()
    received = agent.get_by_label("Date de réception").input_value()
    agent.get_by_label("Date du courrier ou du cachet de la poste").fill(received)
    agent.get_by_label("Nom de l'expéditeur").fill("Dupuis")
    agent.get_by_label("Prénom").fill("Marcelle")
    agent.get_by_label("Adresse postale").fill("4 chemin des Morilles, 99001 Champignac")
    agent.get_by_label("Résumé de la demande").fill(
        "Demande une attestation de domicile pour son fils.")
    agent.get_by_label("Courrier numérisé et pièces jointes").set_input_files(
        {"name": "courrier.pdf", "mimeType": "application/pdf", "buffer": SCAN})
    _shot(agent, "register-form")
    agent.get_by_role("button", name="Enregistrer et produire l'accusé de réception").click()

    agent.wait_for_url(re.compile(r"/enregistrer/fait/R\d{4}-\d{6}$"))
    chrono = agent.locator("#numero-chrono").inner_text().strip()
    code = agent.locator("#code-suivi").inner_text().strip()
    _shot(agent, "register-done")
    with agent.expect_download() as download:
        agent.get_by_role("link", name="Télécharger l'accusé de réception (PDF)").click()
    with open(download.value.path(), "rb") as slip:
        text = pypdf.PdfReader(io.BytesIO(slip.read())).pages[0].extract_text()
    assert chrono in text and code in text

    agent.get_by_role("link", name="File d'attente").click()  # no category: triage queue
    assert agent.get_by_role("img", name="Courrier").count() == 1
    _shot(agent, "register-queue")
    agent.get_by_role("link", name=re.compile(r"^\d{4}-\d{6}$")).first.click()
    assert agent.locator(".register-number").inner_text().strip() == chrono
    assert agent.get_by_role("link", name="courrier.pdf").count() == 1  # the scan
    _shot(agent, "register-ticket")
