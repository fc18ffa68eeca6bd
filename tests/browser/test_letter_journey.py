"""Issue 4's journey in Chromium: a letter is registered with its scan, dispatched,
transferred, answered by a draft that the DGS validates, and the reply letter's PDF
names the agent in charge (CRPA L111-2) and the tracking code."""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from tests.conftest import DEMO, DEMO_PASSWORD

pytestmark = pytest.mark.browser

SCAN = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"  # the scanned letter (a stub)
ANSWER = "Nos équipes reboucheront le nid de poule du 3 rue des Érables jeudi matin."


def _sign_in(browser, live_server: str, email: str):  # type: ignore[no-untyped-def]
    """A fresh browser context signed in as ``email``; JavaScript errors are collected."""
    page = browser.new_context(locale="fr-FR", accept_downloads=True).new_page()
    page.script_errors = []
    page.on("pageerror", lambda exc: page.script_errors.append(str(exc)))
    page.goto(f"{live_server}/{DEMO}/agent/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/agent/"))
    return page


def _unfold(page, panel_id: str) -> None:  # type: ignore[no-untyped-def]
    """Open a folded panel of the ticket page (a <details> element), if it is folded."""
    panel = page.locator(f"#{panel_id}")
    if panel.evaluate("e => e.tagName") == "DETAILS" and panel.get_attribute("open") is None:
        panel.locator("summary").click()


def test_letter_registered_dispatched_transferred_validated_and_printed(  # type: ignore[no-untyped-def]
    live_server, browser, demo_accounts
):
    # 1. The mail room registers the letter with its scan (no e-mail address: a paper reply).
    courrier = _sign_in(browser, live_server, "courrier@champignac.example")
    courrier.locator("#nav-enregistrer").click()
    courrier.locator("#enregistrer-courrier").click()
    courrier.locator("#last_name").fill("Martin")
    courrier.locator("#first_name").fill("Camille")
    courrier.locator("#address").fill("3 rue des Érables, 99001 Champignac-en-Cambrousse")
    # No routing keyword: the letter stays in the mail room's triage queue.
    courrier.locator("#subject").fill("Trou dangereux rue des Érables")
    courrier.locator("#description").fill(
        "Le courrier signale un trou dangereux devant le 3 rue des Érables.")
    courrier.locator("#files").set_input_files(
        {"name": "courrier-scanne.pdf", "mimeType": "application/pdf", "buffer": SCAN})
    courrier.locator("#enregistrer").click()
    number = courrier.locator("#numero-demande").inner_text().strip()
    code = courrier.locator("#code-suivi").inner_text().strip()
    assert re.fullmatch(r"\d{4}-\d{6}", number) and re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    ticket_url = f"{live_server}/{DEMO}/agent/tickets/{number}"

    # 2. It is qualified and dispatched, wrongly, to the street lighting service.
    courrier.goto(ticket_url)
    assert courrier.get_by_role("link", name="courrier-scanne.pdf").count() == 1
    _unfold(courrier, "action-dispatch")
    courrier.locator("#orienter-categorie").select_option("chaussee")
    courrier.locator("#orienter-service").select_option("eclairage")
    courrier.get_by_role("button", name="Qualifier et orienter").click()
    courrier.wait_for_load_state()

    # 3. The cabinet transfers it to the Voirie, with the reason.
    cabinet = _sign_in(browser, live_server, "cabinet@champignac.example")
    cabinet.goto(ticket_url)
    _unfold(cabinet, "action-transfer")
    cabinet.locator("#transfert-service").select_option("voirie")
    cabinet.locator("#transfert-motif").fill("Chaussée : compétence de la Voirie.")
    cabinet.get_by_role("button", name="Transférer").click()
    cabinet.wait_for_load_state()

    # 4. The Voirie technician drafts the reply: a letter's reply waits for the DGS's visa.
    voirie = _sign_in(browser, live_server, "agent.voirie@champignac.example")
    voirie.goto(ticket_url)
    assert voirie.locator("#visa-requis").count() == 1
    voirie.locator("#reponse-objet").fill("Votre courrier au sujet de la chaussée")
    voirie.locator("#reponse-texte").fill(ANSWER)
    voirie.get_by_role("button", name="Soumettre au visa").click()
    assert "En attente du visa" in voirie.locator("#projet-etat").inner_text()
    assert voirie.get_by_role("button", name="Produire la lettre PDF").count() == 0

    # 5. The DGS finds it in the parapheur and validates it.
    dgs = _sign_in(browser, live_server, "dgs@champignac.example")
    assert "(1)" in dgs.locator("#nav-parapheur").inner_text()
    dgs.locator("#nav-parapheur").click()
    dgs.get_by_role("link", name=number).click()
    assert "Yves Lebrac" in dgs.locator("#projet-auteur").inner_text()
    dgs.locator("#viser-envoyer").click()
    assert dgs.get_by_text("Visa donné").count() == 1
    assert "(0)" in dgs.locator("#nav-parapheur").inner_text()

    # 6. No e-mail address: the visa produced the PDF letter, kept with the reply in the
    #    thread; its text names the technician and gives the tracking code.
    voirie.goto(ticket_url)
    assert voirie.get_by_text(ANSWER).count() >= 1
    assert voirie.locator("a.letter-link").count() == 1
    with voirie.expect_download() as download:
        voirie.locator("a.letter-link").first.click()
    assert download.value.suggested_filename == f"lettre-{number}-" + \
        download.value.suggested_filename.split("-")[-1]
    with open(download.value.path(), "rb") as pdf:
        reader = pypdf.PdfReader(io.BytesIO(pdf.read()))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    for expected in ("Yves Lebrac", "Technicien voirie", "Voirie", "04 65 71 00 10", code,
                     "Camille Martin", "nid de poule du 3 rue des Érables"):
        assert expected in text, expected

    for page in (courrier, cabinet, voirie, dgs):
        assert page.script_errors == []
        page.context.close()
