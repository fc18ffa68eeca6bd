"""TOTP second factor: enrolment, the code step at sign-in (no session before it),
single-use codes, failures audited, roles.yaml's require_totp, the secret encrypted at rest."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.domain.secret_box import unseal
from ticketing.models import Agent, AuditEvent
from ticketing.web.extensions import db

LOGIN = f"/{DEMO}/agent/connexion"
CODE = f"/{DEMO}/agent/connexion/code"
QUEUE = f"/{DEMO}/agent/"
SETUP = f"/{DEMO}/agent/compte/double-facteur"
VOIRIE = "agent.voirie@champignac.example"


def _events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _agent(app, email: str = VOIRIE) -> Agent:  # type: ignore[no-untyped-def]
    with app.app_context():
        agent = db.session.scalars(select(Agent).where(Agent.email == email)).one()
        db.session.expunge(agent)
        return agent


def clear_secret(app, email: str = VOIRIE) -> str:  # type: ignore[no-untyped-def]
    """The agent's TOTP secret, decrypted with the app's secret key."""
    stored = _agent(app, email).totp_secret
    assert stored
    return unseal(stored, app.extensions["aiguillage"].settings.secret_key.encode())


def _post_code(client, url: str, code: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, url)
    return client.post(url, data={"code": code, "csrf_token": token})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _enrol(app, client) -> pyotp.TOTP:  # type: ignore[no-untyped-def]
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<img src="data:image/svg\+xml[^"]+"', html)  # the QR code
    secret = clear_secret(app)
    assert secret[:4] in html  # also given to type by hand
    totp = pyotp.TOTP(secret)
    refused = _post_code(client, SETUP, _wrong(totp.now()))
    assert refused.status_code == 422 and "Code incorrect" in refused.get_data(as_text=True)
    assert _agent(app).totp_enabled_at is None
    done = _post_code(client, SETUP, totp.now())
    assert done.status_code == 303
    assert _agent(app).totp_enabled_at is not None
    return totp


def _forget_last_step(app) -> None:  # type: ignore[no-untyped-def]
    """Let the current code be used again (as if the next 30-second step had come)."""
    with app.app_context():
        db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one().totp_last_step = None
        db.session.commit()


def test_enrolment_turns_the_second_factor_on(app, client, demo_accounts):
    login(client, VOIRIE)
    _enrol(app, client)
    assert len(_events(app, "totp.enabled")) == 1
    assert len(_events(app, "totp.enrolment_failed")) == 1
    assert "active" in client.get(SETUP).get_data(as_text=True)


def test_sign_in_asks_for_the_code_before_any_session(app, client, demo_accounts):
    login(client, VOIRIE)
    totp = _enrol(app, client)
    fresh = app.test_client()
    _forget_last_step(app)

    password_step = login(fresh, VOIRIE)
    assert password_step.status_code == 303 and password_step.headers["Location"].endswith(CODE)
    assert fresh.get(QUEUE).status_code == 302  # not signed in yet
    assert [e.after for e in _events(app, "login.succeeded")] == [{}]  # only the first login

    wrong = _post_code(fresh, CODE, _wrong(totp.now()))
    assert wrong.status_code == 422
    assert "Code incorrect ou déjà utilisé" in wrong.get_data(as_text=True)
    assert len(_events(app, "login.second_factor_failed")) == 1
    assert fresh.get(QUEUE).status_code == 302

    right = _post_code(fresh, CODE, totp.now())
    assert right.status_code == 303 and right.headers["Location"].endswith(QUEUE)
    assert fresh.get(QUEUE).status_code == 200
    assert _events(app, "login.succeeded")[-1].after == {"second_factor": "totp"}


def test_a_code_is_accepted_only_once(app, client, demo_accounts):
    login(client, VOIRIE)
    totp = _enrol(app, client)
    _forget_last_step(app)
    code = totp.now()
    first, second = app.test_client(), app.test_client()
    login(first, VOIRIE)
    login(second, VOIRIE)
    assert _post_code(first, CODE, code).status_code == 303
    assert _post_code(second, CODE, code).status_code == 422
    assert second.get(QUEUE).status_code == 302


def test_too_many_wrong_codes_send_back_to_the_password(app, client, demo_accounts):
    login(client, VOIRIE)
    totp = _enrol(app, client)
    fresh = app.test_client()
    login(fresh, VOIRIE)
    for _ in range(4):
        assert _post_code(fresh, CODE, _wrong(totp.now())).status_code == 422
    last = _post_code(fresh, CODE, _wrong(totp.now()))
    assert last.status_code == 303 and "/agent/connexion" in last.headers["Location"]
    assert fresh.get(CODE).status_code == 303  # the code step is gone
    assert len(_events(app, "login.second_factor_failed")) == 5


def test_the_code_step_needs_the_password_step(client, demo_accounts):
    response = client.get(CODE)
    assert response.status_code == 303 and response.headers["Location"].endswith(LOGIN)


def test_an_agent_may_turn_the_second_factor_off_with_a_code(app, client, demo_accounts):
    login(client, VOIRIE)
    totp = _enrol(app, client)
    _forget_last_step(app)
    token = csrf_token(client, SETUP)
    client.post(f"{SETUP}/desactiver", data={"code": totp.now(), "csrf_token": token})
    assert _agent(app).totp_enabled_at is None
    assert len(_events(app, "totp.disabled")) == 1


def test_the_secret_is_stored_encrypted(app, client, demo_accounts):
    login(client, VOIRIE)
    totp = _enrol(app, client)
    stored = _agent(app).totp_secret
    assert stored and totp.secret not in stored
    with app.app_context():
        assert db.session.scalar(select(Agent.totp_secret).where(Agent.email == VOIRIE)) == stored


def test_with_another_secret_key_every_code_is_refused(app, client, settings, configs,
                                                        demo_accounts):
    """A changed AIGUILLAGE_SECRET_KEY cannot read the secret: sign-in fails closed."""
    from dataclasses import replace

    from ticketing.web import create_app

    login(client, VOIRIE)
    totp = _enrol(app, client)
    _forget_last_step(app)
    rekeyed = create_app(replace(settings, secret_key="another-key"), configs,
                         overrides={"TESTING": True})
    fresh = rekeyed.test_client()
    assert login(fresh, VOIRIE).headers["Location"].endswith(CODE)
    refused = _post_code(fresh, CODE, totp.now())
    assert refused.status_code == 422 and "Code incorrect" in refused.get_data(as_text=True)
    assert fresh.get(QUEUE).status_code == 302
    with rekeyed.app_context():
        db.session.remove()
        db.engine.dispose()
