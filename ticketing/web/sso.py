"""Agents' single sign-on with the commune's identity provider (OpenID Connect, Authlib).

Configured by the ``sso:`` section of commune.yaml. The provider replaces the password
step only: the e-mail it vouches for must be an active agent's, and an agent with a TOTP
second factor still gives a code. Logging out of Aiguillage after a single sign-on also
ends the provider's session when it advertises an ``end_session_endpoint`` (OpenID Connect
RP-initiated logout), then comes back to the login page.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, request, session
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from ticketing.operations.accounts import agent_for_single_sign_on
from ticketing.operations.context import CommuneContext
from ticketing.web.account import continue_login
from ticketing.web.agent_forms import LoginForm
from ticketing.web.auth import local_path
from ticketing.web.extensions import db, limiter
from ticketing.web.registry import current_commune, registry
from ticketing.web.themes import render_page

bp = Blueprint("sso", __name__, url_prefix="/<commune>/agent/sso")

EXTENSION = "aiguillage.oauth"
NEXT = "sso_next"


@bp.record_once
def _bind_oauth(state: Any) -> None:
    state.app.extensions[EXTENSION] = OAuth(state.app)


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> tuple[str, int]:
    return render_page("agent/password_too_many.html"), 429


def _client(ctx: CommuneContext) -> Any:
    """The commune's OpenID Connect client (registered on first use), or 404 without one."""
    settings = ctx.config.commune.sso
    if settings is None:
        abort(404)
    oauth: OAuth = current_app.extensions[EXTENSION]
    name = "sso_" + ctx.config.slug.replace("-", "_")
    client = oauth.create_client(name)
    if client is None:
        oauth.register(
            name, client_id=settings.client_id,
            client_secret=os.environ.get(settings.client_secret_env, ""),
            server_metadata_url=f"{settings.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": " ".join(settings.scopes)},
        )
        client = oauth.create_client(name)
    return client


def _return_url(ctx: CommuneContext) -> str:
    """Built from the configured public URL: the one registered with the provider."""
    return f"{ctx.config.commune.public_url.rstrip('/')}/{ctx.config.slug}/agent/sso/retour"


@bp.get("/connexion")
def start() -> Response:
    ctx = current_commune()
    client = _client(ctx)
    session[NEXT] = local_path(request.args.get("next"))
    return client.authorize_redirect(_return_url(ctx))  # type: ignore[no-any-return]


@bp.get("/retour")
@limiter.limit(lambda: registry().settings.login_limit)
def callback() -> Any:
    ctx = current_commune()
    client = _client(ctx)
    try:
        token = client.authorize_access_token()
    except (OAuthError, ValueError) as exc:
        current_app.logger.warning("single sign-on refused: %s", exc)
        return _refused(_("La connexion par le compte de la mairie a échoué. Réessayez."))
    claims = token.get("userinfo") or {}
    agent = agent_for_single_sign_on(db.session, ctx.commune_id, dict(claims),
                                     request.remote_addr)
    db.session.commit()
    if agent is None:
        return _refused(_("Aucun compte d'agent actif ne correspond à votre compte de la "
                          "mairie. Adressez-vous à l'administrateur de l'application."))
    return continue_login(agent, session.pop(NEXT, None), method="oidc",
                          id_token=token.get("id_token"))


def _refused(message: str) -> tuple[str, int]:
    return render_page("agent/login.html", form=LoginForm(), error=message, next=None), 403


# --- logout from the provider too ------------------------------------------------------


def _login_url(ctx: CommuneContext) -> str:
    """Where the provider sends the agent back after its logout (registered with it)."""
    return f"{ctx.config.commune.public_url.rstrip('/')}/{ctx.config.slug}/agent/connexion"


def provider_logout_url(ctx: CommuneContext, id_token: str) -> str | None:
    """The provider's logout URL for this sign-on, or None without a provider, an
    ``end_session_endpoint``, or an answer from the provider (the local logout stands)."""
    settings = ctx.config.commune.sso
    if settings is None:
        return None
    try:
        metadata = _client(ctx).load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        current_app.logger.warning("single sign-on logout skipped: %s", exc)
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    query = urlencode({"id_token_hint": id_token, "client_id": settings.client_id,
                       "post_logout_redirect_uri": _login_url(ctx)})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
