"""Forgotten password: the same answer for any address, single-use expiring links, the
policy on the new password, other sessions ended, everything audited."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from tests.conftest import DEMO, DEMO_PASSWORD, csrf_token, login
from ticketing.models import Agent, AuditEvent, OutboxMessage, utcnow
from ticketing.operations.accounts import find_agent, send_password_link
from ticketing.web.extensions import db

LOGIN = f"/{DEMO}/agent/connexion"
FORGOT = f"/{DEMO}/agent/mot-de-passe-oublie"
QUEUE = f"/{DEMO}/agent/"
VOIRIE = "agent.voirie@champignac.example"
NEW_PASSWORD = "les lampadaires de la rue des Lilas"
LINK = re.compile(r"https?://\S+/agent/mot-de-passe/([\w-]+)")


def _ask_reset(client, email: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, FORGOT)
    return client.post(FORGOT, data={"email": email, "csrf_token": token})


def _mails(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _link_path(message: OutboxMessage) -> str:
    match = LINK.search(message.body_text)
    assert match, message.body_text
    return f"/{DEMO}/agent/mot-de-passe/{match.group(1)}"


def _set_password(client, path: str, password: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client, path)
    return client.post(path, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": token})


def test_the_login_page_offers_the_forgotten_password_page(client, demo_accounts):
    page = client.get(LOGIN).get_data(as_text=True)
    assert FORGOT in page and "Mot de passe oublié" in page


def test_known_and_unknown_addresses_get_the_same_answer(app, client, demo_accounts):
    known = _ask_reset(client, VOIRIE)
    unknown = _ask_reset(client, "personne@champignac.example")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert "Si cette adresse correspond à un compte actif" in known.get_data(as_text=True)
    mails = _mails(app)
    assert [m.to_address for m in mails] == [VOIRIE]
    assert mails[0].kind == "password_reset"
    assert "30 minutes" in mails[0].body_text
    requested = _events(app, "password.reset_requested")
    assert sorted(e.after["known"] for e in requested) == [False, True]


def test_a_deactivated_agent_gets_no_link(app, client, demo_accounts):
    with app.app_context():
        db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one().active = False
        db.session.commit()
    assert _ask_reset(client, VOIRIE).status_code == 200
    assert _mails(app) == []


def test_the_link_sets_a_new_password_once(app, client, demo_accounts):
    _ask_reset(client, VOIRIE)
    path = _link_path(_mails(app)[0])
    page = client.get(path)
    assert page.status_code == 200 and VOIRIE in page.get_data(as_text=True)

    done = _set_password(client, path, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["Location"].endswith(LOGIN)
    assert client.get(path).status_code == 410  # spent
    assert "Lien expiré ou déjà utilisé" in client.get(path).get_data(as_text=True)
    assert login(client, VOIRIE).status_code == 422  # the old password no longer works
    assert login(client, VOIRIE, password=NEW_PASSWORD).status_code == 303
    [changed] = _events(app, "password.changed")
    assert changed.after["via"] == "reset"


def test_policy_errors_are_shown_on_the_password_field(app, client, demo_accounts):
    _ask_reset(client, VOIRIE)
    path = _link_path(_mails(app)[0])
    for password, message in [
        ("court", "au moins 12 caractères"),
        ("Motdepasse2026!", "trop courant"),
        ("YvesLebrac2026!", "votre nom"),
    ]:
        refused = _set_password(client, path, password)
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert 'id="password-error"' in html and message in html
    mismatch = _set_password(client, path, NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert "Les deux saisies diffèrent." in mismatch.get_data(as_text=True)
    # Refused attempts do not spend the link.
    assert _set_password(client, path, NEW_PASSWORD).status_code == 303


def test_an_expired_link_is_refused(app, client, demo_accounts, demo_ctx):
    with app.app_context():
        agent = find_agent(db.session, demo_ctx.commune_id, VOIRIE)
        send_password_link(db.session, demo_ctx, agent, purpose="reset",
                           now=utcnow() - timedelta(minutes=31))
        db.session.commit()
    path = _link_path(_mails(app)[0])
    assert client.get(path).status_code == 410
    token = csrf_token(client, FORGOT)
    posted = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                     "csrf_token": token})
    assert posted.status_code == 410
    assert login(client, VOIRIE).status_code == 303  # password unchanged


def test_a_new_link_cancels_the_earlier_one(app, client, demo_accounts):
    _ask_reset(client, VOIRIE)
    _ask_reset(client, VOIRIE)
    first, second = _mails(app)
    assert client.get(_link_path(first)).status_code == 410
    assert client.get(_link_path(second)).status_code == 200


def test_an_invitation_link_lasts_three_days(app, client, demo_accounts, demo_ctx):
    with app.app_context():
        agent = find_agent(db.session, demo_ctx.commune_id, VOIRIE)
        send_password_link(db.session, demo_ctx, agent, purpose="invitation",
                           base_url="https://mairie.example",
                           now=utcnow() - timedelta(days=2))
        db.session.commit()
    [mail] = _mails(app)
    assert mail.kind == "password_invitation"
    assert f"https://mairie.example/{DEMO}/agent/mot-de-passe/" in mail.body_text
    path = _link_path(mail)
    assert _set_password(client, path, NEW_PASSWORD).status_code == 303
    [changed] = _events(app, "password.changed")
    assert changed.after["via"] == "invitation"


def test_a_new_password_ends_the_agents_other_sessions(app, demo_accounts):
    elsewhere = app.test_client()
    login(elsewhere, VOIRIE)
    assert elsewhere.get(QUEUE).status_code == 200
    client = app.test_client()
    _ask_reset(client, VOIRIE)
    _set_password(client, _link_path(_mails(app)[0]), NEW_PASSWORD)
    assert elsewhere.get(QUEUE).status_code == 302


def test_changing_ones_password_keeps_this_session_and_ends_the_others(app, demo_accounts):
    elsewhere, here = app.test_client(), app.test_client()
    login(elsewhere, VOIRIE)
    login(here, VOIRIE)
    url = f"/{DEMO}/agent/compte/mot-de-passe"
    token = csrf_token(here, url)
    wrong = here.post(url, data={"current": "pas-le-bon", "password": NEW_PASSWORD,
                                 "confirm": NEW_PASSWORD, "csrf_token": token})
    assert "Mot de passe actuel incorrect." in wrong.get_data(as_text=True)
    done = here.post(url, data={"current": DEMO_PASSWORD, "password": NEW_PASSWORD,
                                "confirm": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 303
    assert here.get(QUEUE).status_code == 200
    assert elsewhere.get(QUEUE).status_code == 302


def test_reset_requests_are_rate_limited_per_address(app, client, demo_accounts):
    settings = app.extensions["aiguillage"].settings
    limit = int(settings.reset_address_limit.split()[0])
    assert limit < int(settings.reset_limit.split()[0])
    for _ in range(limit):
        assert _ask_reset(client, VOIRIE).status_code == 200
    blocked = _ask_reset(client, VOIRIE.upper())
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)
    assert _ask_reset(client, "chef.voirie@champignac.example").status_code == 200


def test_reset_requests_are_rate_limited_per_client_address(app, client, demo_accounts):
    registry = app.extensions["aiguillage"]
    registry.settings = replace(registry.settings, reset_limit="2 per hour")
    assert _ask_reset(client, "a@champignac.example").status_code == 200
    assert _ask_reset(client, "b@champignac.example").status_code == 200
    assert _ask_reset(client, "c@champignac.example").status_code == 429
