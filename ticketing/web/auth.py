"""Agent sign-in (flask-login) and the one check of what an agent may do to a ticket."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import select

from ticketing.domain.rights import Grant, permissions_on, visible_services
from ticketing.models import Agent, Ticket
from ticketing.operations.accounts import record_logout, totp_enabled, totp_required
from ticketing.web.extensions import db, login_manager
from ticketing.web.queries import copied_services
from ticketing.web.registry import current_commune, registry

# The commune an agent signed in to; tells "other commune" (404) from "not signed in".
SESSION_COMMUNE = "agent_commune_id"
# When the session was signed in and last used (seconds since the epoch), and the agent's
# session epoch then: a password change raises it and ends the older sessions.
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
SESSION_EPOCH = "session_epoch"
# Pages an agent who must enrol a second factor may still reach.
ENROLMENT_ENDPOINTS = {"account.totp_setup", "agent.logout"}

login_manager.login_view = "agent.login"
login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


class SignedInAgent(UserMixin):
    """The flask-login user: wraps the Agent row loaded in the commune-scoped session."""

    def __init__(self, agent: Agent):
        self.agent = agent

    def get_id(self) -> str:
        return f"{self.agent.id}"

    @property
    def is_active(self) -> bool:
        return bool(self.agent.active)

    @property
    def grants(self) -> list[Grant]:
        return [Grant(m.service_code, m.role_code) for m in self.agent.memberships]


@login_manager.user_loader
def _load_agent(user_id: str) -> SignedInAgent | None:
    ctx = g.get("commune")
    if ctx is None or not user_id.isdigit():
        return None
    # The session is scoped to the URL's commune: an agent of another commune is not found.
    agent = db.session.scalars(select(Agent).where(Agent.id == int(user_id))).first()
    if agent is None or not agent.active or agent.commune_id != ctx.commune_id:
        return None
    if session.get(SESSION_EPOCH) != agent.session_epoch:
        return None  # the password changed since this session signed in
    return SignedInAgent(agent)


@login_manager.unauthorized_handler
def _to_login_page():  # type: ignore[no-untyped-def]
    flash(str(login_manager.login_message), login_manager.login_message_category)
    return redirect(url_for("agent.login", next=local_path(request.full_path)))


def sign_in(agent: Agent) -> None:
    """Start a fresh session for ``agent`` (a new cookie: no session fixation)."""
    session.clear()
    login_user(SignedInAgent(agent), remember=False)
    session[SESSION_COMMUNE] = agent.commune_id
    session[SESSION_EPOCH] = agent.session_epoch
    session[SIGNED_IN_AT] = session[SEEN_AT] = now()


def now() -> float:
    """The session clock (seconds); tests move the stored timestamps instead."""
    return time.time()


def session_timeout() -> str | None:
    """"idle" or "expired" when the signed-in session has outlived the settings."""
    settings = registry().settings
    moment = now()
    signed_in_at = session.get(SIGNED_IN_AT)
    seen_at = session.get(SEEN_AT)
    if signed_in_at is None or moment - signed_in_at > settings.session_max_hours * 3600:
        return "expired"
    if seen_at is None or moment - seen_at > settings.session_idle_minutes * 60:
        return "idle"
    return None


def end_session(reason: str) -> Any:
    """Sign the agent out after a timeout (audited) and send them to the login page."""
    record_logout(db.session, current_agent(), request.remote_addr, reason)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_l("Votre session a expiré : reconnectez-vous pour continuer."), "info")
    target = local_path(request.full_path) if request.method == "GET" else None
    return redirect(url_for("agent.login", next=target))


def current_agent() -> Agent:
    return current_user.agent  # type: ignore[no-any-return]


def guard_agent_area() -> Any:
    """Before every agent page but the login page: the right commune, a signed-in agent."""
    ctx = current_commune()
    if current_user.is_authenticated:
        if current_agent().commune_id != ctx.commune_id:
            abort(404)
        expired = session_timeout()
        if expired:
            return end_session(expired)
        session[SEEN_AT] = now()
        agent = current_agent()
        if (request.endpoint not in ENROLMENT_ENDPOINTS and not totp_enabled(agent)
                and totp_required(agent, ctx.config)):
            flash(_l("Votre rôle impose une double authentification : "
                     "activez-la pour continuer."), "info")
            return redirect(url_for("account.totp_setup"))
        return None
    signed_in_to = session.get(SESSION_COMMUNE)
    if signed_in_to is not None and signed_in_to != ctx.commune_id:
        abort(404)  # signed in elsewhere: this commune's agent pages do not exist for them
    return login_manager.unauthorized()


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path of this commune's agent area, else None (no open redirect)."""
    if not target:
        return None
    target = target.rstrip("?")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    prefix = f"/{current_commune().config.slug}/agent/"
    return target if target.startswith(prefix) else None


def permissions_on_ticket(ticket: Ticket) -> set[str]:
    roles = current_commune().config.roles
    # A service the ticket is copied to for information may view it and add notes.
    return permissions_on(current_user.grants, roles, ticket.service_code,
                          copied_services(db.session, ticket))


def services_in_view() -> set[str]:
    config = current_commune().config
    return visible_services(current_user.grants, config.roles, config.services)


def check_ticket(ticket: Ticket | None, *permissions: str) -> set[str]:
    """The agent's permissions on ``ticket``; 404 if it cannot view it, 403 if it lacks
    every one of ``permissions`` (any one is enough)."""
    from ticketing.web.denials import note_denied  # audits the refusal (access_denied)

    if ticket is None:
        abort(404)
    allowed = permissions_on_ticket(ticket)
    if "view" not in allowed:
        note_denied(404, "view", ticket)
        abort(404)  # do not reveal that the ticket exists
    if permissions and not allowed.intersection(permissions):
        note_denied(403, permissions, ticket)
        abort(403)
    return allowed


def load_ticket(number: str) -> Ticket | None:
    return db.session.scalars(select(Ticket).where(Ticket.number == number)).first()


def require(*permissions: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view taking ``number``: it gets ``ticket`` instead, checked for
    ``permissions`` (any one is enough; "view" is always required)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, number: str, **kwargs: Any) -> Any:
            ticket = load_ticket(number)
            check_ticket(ticket, *permissions)
            return view(*args, ticket=ticket, **kwargs)

        return wrapper

    return decorator
