"""Agent sessions: audited sign-in and out with the client address, timeouts, fixation,
deactivation, cookie flags, per-account login limit."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import Agent, AuditEvent
from ticketing.web.auth import SEEN_AT, SIGNED_IN_AT
from ticketing.web.extensions import db

LOGIN = f"/{DEMO}/agent/connexion"
QUEUE = f"/{DEMO}/agent/"
VOIRIE = "agent.voirie@champignac.example"
ADDRESS = "203.0.113.7"


def _browser(app, address: str):  # type: ignore[no-untyped-def]
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def remote_client(app):  # type: ignore[no-untyped-def]
    return _browser(app, ADDRESS)


def _events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _shift_session(client, **seconds_ago: float) -> None:  # type: ignore[no-untyped-def]
    """Move the session's stored timestamps back in time."""
    with client.session_transaction() as session:
        for key, ago in seconds_ago.items():
            session[key] = session[key] - ago


def test_sign_in_is_audited_with_the_client_address(app, remote_client, demo_accounts):
    login(remote_client, VOIRIE)
    [event] = _events(app, "login.succeeded")
    assert event.remote_addr == ADDRESS
    assert event.actor_kind == "agent" and event.actor_label == "Yves Lebrac"


def test_a_failed_sign_in_is_audited_with_the_client_address(app, remote_client, demo_accounts):
    login(remote_client, VOIRIE, password="mauvais-mot-de-passe")
    [event] = _events(app, "login.failed")
    assert event.remote_addr == ADDRESS
    assert event.after == {"email": VOIRIE, "reason": "password"}
    assert _events(app, "login.succeeded") == []


def test_sign_out_is_audited(app, remote_client, demo_accounts):
    login(remote_client, VOIRIE)
    token = csrf_token(remote_client, QUEUE)
    remote_client.post(f"/{DEMO}/agent/deconnexion", data={"csrf_token": token})
    [event] = _events(app, "logout")
    assert event.remote_addr == ADDRESS and event.actor_label == "Yves Lebrac"


def test_an_idle_session_ends(app, client, demo_accounts):
    login(client, VOIRIE)
    idle = app.extensions["aiguillage"].settings.session_idle_minutes * 60
    _shift_session(client, **{SEEN_AT: idle - 60, SIGNED_IN_AT: idle - 60})
    assert client.get(QUEUE).status_code == 200  # still within the idle time
    _shift_session(client, **{SEEN_AT: idle + 1, SIGNED_IN_AT: idle + 1})
    expired = client.get(QUEUE)
    assert expired.status_code == 302 and "/agent/connexion" in expired.headers["Location"]
    page = client.get(expired.headers["Location"]).get_data(as_text=True)
    assert "Votre session a expiré" in page
    assert client.get(QUEUE).status_code == 302  # signed out for good
    [event] = _events(app, "session.expired")
    assert event.after == {"reason": "idle"}


def test_activity_does_not_outlast_the_absolute_timeout(app, client, demo_accounts):
    login(client, VOIRIE)
    hours = app.extensions["aiguillage"].settings.session_max_hours
    _shift_session(client, **{SIGNED_IN_AT: hours * 3600 - 60})
    assert client.get(QUEUE).status_code == 200
    _shift_session(client, **{SIGNED_IN_AT: 120})  # the agent was active a second ago
    assert client.get(QUEUE).status_code == 302
    [event] = _events(app, "session.expired")
    assert event.after == {"reason": "expired"}


def test_nothing_of_the_session_before_sign_in_survives_it(client, demo_accounts):
    client.get(LOGIN)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("session").value
    login(client, VOIRIE)
    assert client.get_cookie("session").value != before
    with client.session_transaction() as session:
        assert "planted" not in session


def test_a_deactivated_agent_loses_the_session_at_the_next_request(app, client, demo_accounts):
    login(client, VOIRIE)
    assert client.get(QUEUE).status_code == 200
    with app.app_context():
        db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one().active = False
        db.session.commit()
    assert client.get(QUEUE).status_code == 302
    assert login(client, VOIRIE).status_code == 422


def test_session_cookie_is_httponly_and_samesite_and_not_remembered(client, demo_accounts):
    response = login(client, VOIRIE)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie  # plain http by default (make run)
    assert not [c for c in cookies if c.startswith("remember_token=")]
    assert "Expires" not in session_cookie  # gone when the browser closes


def test_secure_cookies_setting_marks_the_cookie_secure(app, settings, configs, demo_accounts):
    from ticketing.web import create_app

    secure_app = create_app(replace(settings, secure_cookies=True), configs,
                            overrides={"TESTING": True})
    response = secure_app.test_client().get(LOGIN)  # the form's CSRF token opens a session
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie")
                          if c.startswith("session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    with secure_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sign_in_attempts_on_one_account_are_limited_from_any_address(app, demo_accounts):
    registry = app.extensions["aiguillage"]
    registry.settings = replace(registry.settings, login_account_limit="3 per hour")
    for _ in range(4):  # signing in often never locks the account
        assert login(app.test_client(), VOIRIE).status_code == 303
    for number in range(3):
        browser = _browser(app, f"198.51.100.{number}")
        assert login(browser, VOIRIE, password="mauvais-mot-de-passe").status_code == 422
    browser = _browser(app, "198.51.100.99")
    blocked = login(browser, VOIRIE.upper())
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)
    other = login(browser, "chef.voirie@champignac.example")
    assert other.status_code == 303
