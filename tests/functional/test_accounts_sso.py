"""Single sign-on (OpenID Connect) against a small identity provider run by the test: the
provider's e-mail must be an active agent's; TOTP still applies; failures are audited;
logging out ends the provider's session too when it offers an end_session_endpoint."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import DEMO, OTHER, csrf_token, login
from ticketing.config.schema import SingleSignOn
from ticketing.domain.secret_box import seal
from ticketing.models import Agent, AuditEvent, utcnow
from ticketing.web.extensions import db

LOGIN = f"/{DEMO}/agent/connexion"
START = f"/{DEMO}/agent/sso/connexion"
CALLBACK = f"/{DEMO}/agent/sso/retour"
QUEUE = f"/{DEMO}/agent/"
LOGOUT = f"/{DEMO}/agent/deconnexion"
VOIRIE = "agent.voirie@champignac.example"
CLIENT_ID = "aiguillage-champignac"


class IdentityProvider:
    """Discovery, token, key and logout endpoints of an OpenID provider, on a local port.
    ``sessions`` holds the ID tokens it issued and whose session is still open."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.sessions: set[str] = set()
        self.offers_logout = True
        app = Flask("fake_idp")
        app.add_url_rule("/.well-known/openid-configuration", view_func=self._discovery)
        app.add_url_rule("/token", view_func=self._token, methods=["POST"])
        app.add_url_rule("/logout", view_func=self._logout)
        app.add_url_rule("/jwks", view_func=lambda: jsonify(
            keys=[self.key.as_dict(private=False) | {"alg": "RS256", "use": "sig"}]))
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    def _discovery(self) -> Any:
        logout = {"end_session_endpoint": f"{self.issuer}/logout"} if self.offers_logout else {}
        return jsonify(issuer=self.issuer, authorization_endpoint=f"{self.issuer}/authorize",
                       token_endpoint=f"{self.issuer}/token", jwks_uri=f"{self.issuer}/jwks",
                       response_types_supported=["code"], subject_types_supported=["public"],
                       id_token_signing_alg_values_supported=["RS256"], **logout)

    def _logout(self) -> Any:
        """RP-initiated logout: ends the session named by the ID token, then goes back."""
        hint = request.args.get("id_token_hint", "")
        if hint not in self.sessions or request.args.get("client_id") != CLIENT_ID:
            return jsonify(error="unknown session"), 400
        self.sessions.discard(hint)
        return redirect(request.args["post_logout_redirect_uri"], 302)

    def _token(self) -> Any:
        grant = self.codes.pop(request.form.get("code", ""), None)
        if grant is None:
            return jsonify(error="invalid_grant"), 400
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "sub": "agent-42", **grant}
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        self.sessions.add(id_token)
        return jsonify(access_token="opaque", token_type="Bearer", expires_in=300,
                       id_token=id_token)


@pytest.fixture(scope="module")
def idp():  # type: ignore[no-untyped-def]
    server = IdentityProvider()
    yield server
    server.stop()


@pytest.fixture
def provider(idp):  # type: ignore[no-untyped-def]
    idp.offers_logout = True
    idp.sessions.clear()
    return idp


@pytest.fixture
def configs(configs, provider):  # type: ignore[no-untyped-def]
    config = configs[DEMO]
    sso = SingleSignOn(issuer=provider.issuer, client_id=CLIENT_ID,
                       client_secret_env="AIGUILLAGE_TEST_SSO_SECRET")
    commune = config.commune.model_copy(update={"sso": sso})
    return {**configs, DEMO: replace(config, commune=commune)}


@pytest.fixture(autouse=True)
def _environment(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIGUILLAGE_TEST_SSO_SECRET", "client-secret")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _through_provider(client, provider, **claims: Any):  # type: ignore[no-untyped-def]
    """Start the sign-on, let the provider "authenticate" with ``claims``, come back."""
    start = client.get(START)
    assert start.status_code == 302
    location = urlsplit(start.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.issuer}/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"].endswith(CALLBACK)
    code = f"code-{len(provider.codes)}-{time.monotonic_ns()}"
    provider.codes[code] = {"nonce": query["nonce"], **claims}
    return client.get(f"{CALLBACK}?code={code}&state={query['state']}")


def test_the_login_page_offers_the_communes_sign_on(client, demo_accounts):
    html = client.get(LOGIN).get_data(as_text=True)
    assert START in html and "Se connecter avec le compte de la mairie" in html


def test_a_known_agent_signs_in_through_the_provider(app, client, provider, demo_accounts):
    response = _through_provider(client, provider, email=VOIRIE.upper(), email_verified=True)
    assert response.status_code == 303 and response.headers["Location"].endswith(QUEUE)
    assert "Yves Lebrac" in client.get(QUEUE).get_data(as_text=True)
    [event] = _events(app, "login.succeeded")
    assert event.after == {"method": "oidc"}


def test_an_address_without_an_agent_is_refused(app, client, provider, demo_accounts):
    response = _through_provider(client, provider, email="inconnu@champignac.example")
    assert response.status_code == 403
    assert "agent actif ne correspond" in response.get_data(as_text=True)
    assert client.get(QUEUE).status_code == 302
    [event] = _events(app, "login.failed")
    assert event.after["reason"] == "sso_unknown"


def test_an_unverified_address_is_refused(app, client, provider, demo_accounts):
    response = _through_provider(client, provider, email=VOIRIE, email_verified=False)
    assert response.status_code == 403
    assert client.get(QUEUE).status_code == 302


def test_a_forged_return_without_the_state_is_refused(app, client, provider, demo_accounts):
    client.get(START)
    provider.codes["stolen"] = {"nonce": "x", "email": VOIRIE}
    response = client.get(f"{CALLBACK}?code=stolen&state=not-the-one")
    assert response.status_code == 403
    assert client.get(QUEUE).status_code == 302


def test_an_agent_with_totp_still_gives_a_code(app, client, provider, demo_accounts):
    with app.app_context():
        agent = db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one()
        secret = pyotp.random_base32()
        agent.totp_secret = seal(secret, app.extensions["aiguillage"].settings.secret_key.encode())
        agent.totp_enabled_at = utcnow()
        db.session.commit()
    response = _through_provider(client, provider, email=VOIRIE)
    assert response.headers["Location"].endswith("/agent/connexion/code")
    assert client.get(QUEUE).status_code == 302
    code_url = f"/{DEMO}/agent/connexion/code"
    token = csrf_token(client, code_url)
    done = client.post(code_url, data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert done.status_code == 303
    assert _events(app, "login.succeeded")[-1].after == {"method": "oidc", "second_factor": "totp"}
    assert _log_out(client).startswith(f"{provider.issuer}/logout?")  # the token went along


def _log_out(client) -> str:  # type: ignore[no-untyped-def]
    """Press "Se déconnecter"; the redirection's target."""
    response = client.post(LOGOUT, data={"csrf_token": csrf_token(client, QUEUE)})
    assert response.status_code == 303
    return response.headers["Location"]


def test_logging_out_ends_the_providers_session_too(app, client, provider, demo_accounts):
    _through_provider(client, provider, email=VOIRIE)
    [id_token] = provider.sessions

    location = _log_out(client)
    assert client.get(QUEUE).status_code == 302  # signed out of Aiguillage at once
    url = urlsplit(location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{provider.issuer}/logout"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {"id_token_hint": id_token, "client_id": CLIENT_ID,
                     "post_logout_redirect_uri": f"http://127.0.0.1:5000{LOGIN}"}

    back = requests.get(location, allow_redirects=False, timeout=10)
    assert back.status_code == 302 and back.headers["Location"].endswith(LOGIN)
    assert provider.sessions == set()
    assert len(_events(app, "logout")) == 1


def test_without_an_end_session_endpoint_logout_stays_local(client, provider, demo_accounts):
    provider.offers_logout = False
    _through_provider(client, provider, email=VOIRIE)
    assert _log_out(client).endswith(LOGIN)
    assert client.get(QUEUE).status_code == 302
    assert len(provider.sessions) == 1


def test_an_agent_who_signed_in_with_a_password_is_not_sent_to_the_provider(
        client, provider, demo_accounts):
    login(client, VOIRIE)
    assert _log_out(client).endswith(LOGIN)


def test_a_commune_without_sign_on_has_no_such_page(client, demo_accounts):
    assert client.get(f"/{OTHER}/agent/sso/connexion").status_code == 404
    assert "/sso/" not in client.get(f"/{OTHER}/agent/connexion").get_data(as_text=True)


@pytest.mark.parametrize("field, value", [("client_secret_env", "le-secret-lui-meme"),
                                          ("issuer", "connexion.champignac.example")])
def test_the_sso_section_is_checked(field: str, value: str) -> None:
    from pydantic import ValidationError

    good = {"issuer": "https://idp.example", "client_id": "a", "client_secret_env": "SSO_SECRET"}
    with pytest.raises(ValidationError):
        SingleSignOn(**{**good, field: value})
