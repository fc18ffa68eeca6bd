"""In a real browser (CSP on, no inline script): the collision warning comes from
dispatch.js, and a chief transfers a ticket from the folded panel with a reason."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO, DEMO_PASSWORD
from tests.functional.dispatch_support import CHEF_VOIRIE, POTHOLE, VOIRIE

pytestmark = pytest.mark.browser


def _signed_in(browser, live_server: str, email: str):  # type: ignore[no-untyped-def]
    page = browser.new_context(locale="fr-FR").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.script_errors = errors
    page.goto(f"{live_server}/{DEMO}/agent/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server}/{DEMO}/agent/")
    return page


def test_collision_warning_and_transfer_in_the_browser(  # type: ignore[no-untyped-def]
    live_server, browser, demo_accounts, file_request
):
    number, _ = file_request(category_code="chaussee", description=POTHOLE,
                             extra_fields={"adresse": "3 rue des Érables"})
    url = f"{live_server}/{DEMO}/agent/tickets/{number}"
    chef = _signed_in(browser, live_server, CHEF_VOIRIE)
    with chef.expect_response(lambda r: r.url.endswith("/consultation")) as ping:
        chef.goto(url)
    assert ping.value.status == 200  # the page told the server (script allowed by the CSP)
    assert chef.locator("#consultation").is_hidden()  # alone on the ticket

    # Only the chief's script recorded the chief: the agent's page names them.
    agent = _signed_in(browser, live_server, VOIRIE)
    agent.goto(url)
    assert agent.locator("#consultation").inner_text().strip() == (
        "Léon Prunelle consulte aussi cette demande.")

    chef.get_by_text("Transférer à un autre service").click()  # unfold the section
    chef.get_by_label("Transférer au service").select_option(label="Éclairage public")
    chef.get_by_label("Motif du transfert").fill("C'est un candélabre renversé.")
    chef.get_by_role("button", name="Transférer").click()
    chef.wait_for_url(f"{live_server}/{DEMO}/agent/")
    assert "Demande transférée au service : Éclairage public." in chef.content()
    assert chef.script_errors == [] and agent.script_errors == []
