"""The core journey in a real browser: a citizen files, an agent answers, the citizen reads it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DEMO, DEMO_PASSWORD

pytestmark = pytest.mark.browser

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def test_citizen_files_agent_answers_citizen_reads_the_answer(  # type: ignore[no-untyped-def]
    live_server, browser, page, demo_accounts, configs
):
    category = configs[DEMO].categories["eclairage-panne"]

    # A citizen files a request with a photo.
    page.goto(f"{live_server}/{DEMO}/demande?categorie={category.code}")
    page.get_by_label("Description de votre demande").fill(
        "Le lampadaire devant l'école est éteint depuis trois jours.")
    for extra in category.extra_fields:
        if extra.required:
            page.get_by_label(extra.label).fill("Devant l'école Spirou, rue des Écureuils")
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom de famille").fill("Martin")
    page.get_by_label("Adresse électronique").fill("camille.martin@example.org")
    page.get_by_label("Pièces jointes").set_input_files(
        {"name": "lampadaire.png", "mimeType": "image/png", "buffer": PNG})
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_url(re.compile(r"/demande/confirmation$"))
    code = page.locator(".tracking-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    assert code not in page.url

    # The lighting agent logs in, finds it in the queue, sees the photo and answers.
    agent = browser.new_context(locale="fr-FR", accept_downloads=True).new_page()
    agent.goto(f"{live_server}/{DEMO}/agent/connexion")
    agent.get_by_label("Adresse électronique").fill("agent.eclairage@champignac.example")
    agent.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Se connecter").click()
    agent.get_by_role("link", name=re.compile(r"^\d{4}-\d{6}$")).first.click()
    with agent.expect_download() as download:
        agent.get_by_role("link", name="lampadaire.png").click()
    assert download.value.suggested_filename == "lampadaire.png"
    assert open(download.value.path(), "rb").read() == PNG
    agent.get_by_label("Réponse à l'usager").fill(
        "Bonjour, une équipe remplacera la lampe jeudi matin.")
    agent.get_by_role("button", name="Envoyer la réponse").click()
    assert agent.get_by_text("une équipe remplacera la lampe jeudi matin").count() >= 1

    # The citizen checks the tracking page with the code and their last name.
    page.goto(f"{live_server}/{DEMO}/suivi")
    page.get_by_label("Code de suivi").fill(code.lower().replace("-", " "))
    page.get_by_label("Votre adresse électronique ou votre nom de famille").fill("MARTIN")
    page.get_by_role("button", name="Voir ma demande").click()
    body = page.locator("main").inner_text()
    assert "une équipe remplacera la lampe jeudi matin" in body
    assert "Jeanne Fantasio" in body  # the handling agent is named, as the law requires
    assert "Répondue" in body
    assert page.script_errors == []  # type: ignore[attr-defined]
