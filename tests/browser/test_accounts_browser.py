"""An agent enrols a TOTP second factor in Chromium (the QR code shows under the CSP),
then signs in with a code; the forgotten-password page answers."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from tests.conftest import DEMO, DEMO_PASSWORD
from ticketing.domain.secret_box import unseal

pytestmark = pytest.mark.browser

VOIRIE = "agent.voirie@champignac.example"


def _password_step(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/{DEMO}/agent/connexion")
    page.get_by_label("Adresse électronique").fill(VOIRIE)
    page.get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_enrol_then_sign_in_with_a_code(app, live_server, page, demo_accounts, tmp_path):  # type: ignore[no-untyped-def]
    from ticketing.models import Agent
    from ticketing.web.extensions import db

    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    _password_step(page, live_server)
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("link", name="Double authentification (code à usage unique)").click()
    qr = page.get_by_role("img", name=re.compile("Code QR"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")
    page.screenshot(path=str(tmp_path / "double-facteur.png"), full_page=True)
    with app.app_context():
        secret = db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one().totp_secret
    totp = pyotp.TOTP(unseal(secret, app.extensions["aiguillage"].settings.secret_key.encode()))
    page.get_by_label("Code à 6 chiffres").fill(totp.now())
    page.get_by_role("button", name="Activer").click()
    assert page.get_by_text("La double authentification est activée").is_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    with app.app_context():  # as if the next 30-second step had come
        db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one().totp_last_step = None
        db.session.commit()
    _password_step(page, live_server)
    page.wait_for_url(re.compile(r"/agent/connexion/code$"))
    page.get_by_label("Code à 6 chiffres").fill(totp.now())
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url(re.compile(r"/agent/$"))
    assert page.get_by_text("Yves Lebrac").first.is_visible()
    assert refused == [] and page.script_errors == []  # type: ignore[attr-defined]


def test_forgotten_password_page(live_server, page, demo_accounts):  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/{DEMO}/agent/connexion")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.get_by_label("Adresse électronique").fill(VOIRIE)
    page.get_by_role("button", name="Recevoir un lien").click()
    assert page.get_by_text("Si cette adresse correspond à un compte actif").is_visible()
