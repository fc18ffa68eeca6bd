"""The agent's account: second sign-in step, forgotten password, password change, TOTP.

The password step itself is ``agent.login``; it hands over to ``continue_login`` here.
"""

from __future__ import annotations

from typing import Any

import segno
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from ticketing.models import Agent
from ticketing.operations.accounts import (
    InvalidLink,
    PasswordRejected,
    agent_for_link,
    confirm_totp_enrolment,
    disable_totp,
    password_matches,
    record_login,
    request_password_reset,
    set_password,
    set_password_from_link,
    start_totp_enrolment,
    totp_enabled,
    totp_for_enrolment,
    totp_required,
    verify_second_factor,
)
from ticketing.operations.events import Actor
from ticketing.web.account_forms import (
    PASSWORD_HELP,
    ChangePasswordForm,
    CodeForm,
    ForgotPasswordForm,
    NewPasswordForm,
)
from ticketing.web.auth import current_agent, guard_agent_area, now, sign_in
from ticketing.web.extensions import db, limiter
from ticketing.web.registry import current_commune, registry
from ticketing.web.themes import render_page

bp = Blueprint("account", __name__, url_prefix="/<commune>/agent")

OPEN_ENDPOINTS = {"account.forgot_password", "account.new_password", "account.second_factor"}
# Between the password and the code: who, since when, where to go, failed codes.
PENDING = "pending_second_factor"
PENDING_SECONDS = 300
PENDING_MAX_FAILURES = 5
# The identity provider's ID token of a single sign-on, for its logout (``sso``).
SSO_ID_TOKEN = "sso_id_token"


@bp.before_request
def _guard() -> Any:
    if request.endpoint in OPEN_ENDPOINTS:
        current_commune()  # 404 for an unknown commune
        return None
    return guard_agent_area()


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> tuple[str, int]:
    return render_page("agent/password_too_many.html"), 429


def _remote() -> str | None:
    return request.remote_addr


def form_email_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return f"{current_commune().config.slug}:{email}"


def failed_attempt(response: Response) -> bool:
    """Only refused attempts count against an account: its owner is never locked out by
    signing in often, only by wrong passwords or codes."""
    return response.status_code == 422


def _pending_key() -> str:
    pending = session.get(PENDING) or {}
    return f"{current_commune().config.slug}:agent:{pending.get('agent_id')}"


# --- sign-in, second step --------------------------------------------------------------


def continue_login(agent: Agent, target: str | None, method: str = "password",
                   id_token: str | None = None) -> Response:
    """After the first step (password, or the commune's single sign-on, whose ``id_token``
    is kept for its logout): ask for the TOTP code if enrolled, else sign in."""
    if totp_enabled(agent):
        session.clear()  # nothing of an earlier session survives
        session[PENDING] = {"agent_id": agent.id, "commune_id": agent.commune_id,
                            "at": now(), "next": target, "failures": 0, "method": method,
                            "id_token": id_token}
        return redirect(url_for("account.second_factor"), 303)
    return _finish_login(agent, target, None, method, id_token)


def _finish_login(agent: Agent, target: str | None, second_factor: str | None,
                  method: str, id_token: str | None) -> Response:
    record_login(db.session, agent, _remote(), second_factor, method)
    db.session.commit()
    sign_in(agent)
    if id_token:
        session[SSO_ID_TOKEN] = id_token
    flash(_("Bonjour %(name)s, vous êtes connecté(e).", name=agent.full_name), "success")
    return redirect(target or url_for("agent.queue"), 303)


def _pending_agent() -> Agent | None:
    pending = session.get(PENDING)
    if not pending or pending.get("commune_id") != current_commune().commune_id:
        return None
    if now() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    agent = db.session.get(Agent, pending.get("agent_id"))
    if agent is None or not agent.active or not totp_enabled(agent):
        return None
    return agent


@bp.route("/connexion/code", methods=["GET", "POST"])
@limiter.limit(lambda: registry().settings.login_limit, methods=["POST"])
@limiter.limit(lambda: registry().settings.login_account_limit, key_func=_pending_key,
               methods=["POST"], deduct_when=failed_attempt)
def second_factor() -> Any:
    agent = _pending_agent()
    if agent is None:
        session.pop(PENDING, None)
        flash(_("Reconnectez-vous : l'étape du code a expiré."), "info")
        return redirect(url_for("agent.login"), 303)
    form = CodeForm()
    if form.validate_on_submit():
        ok = verify_second_factor(db.session, current_commune(), agent, form.code.data or "",
                                  _remote())
        db.session.commit()
        if ok:
            pending = session[PENDING]
            return _finish_login(agent, pending.get("next"), "totp",
                                 pending.get("method", "password"), pending.get("id_token"))
        pending = dict(session[PENDING], failures=session[PENDING].get("failures", 0) + 1)
        if pending["failures"] >= PENDING_MAX_FAILURES:
            session.pop(PENDING, None)
            flash(_("Trop de codes erronés : reconnectez-vous."), "error")
            return redirect(url_for("agent.login"), 303)
        session[PENDING] = pending
        form.code.errors = [*form.code.errors,
                            _("Code incorrect ou déjà utilisé. Attendez le code suivant.")]
    status = 422 if form.errors else 200
    return render_page("agent/totp_code.html", form=form), status


# --- forgotten password ----------------------------------------------------------------


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(lambda: registry().settings.reset_limit, methods=["POST"])
@limiter.limit(lambda: registry().settings.reset_address_limit, key_func=form_email_key,
               methods=["POST"])
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    sent = False
    if form.validate_on_submit():
        request_password_reset(db.session, current_commune(), form.email.data or "", _remote())
        db.session.commit()
        sent = True  # the same answer whether the address is an agent's or not
    status = 422 if form.errors else 200
    return render_page("agent/password_forgot.html", form=form, sent=sent), status


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: registry().settings.reset_limit, methods=["POST"])
def new_password(token: str) -> Any:
    ctx = current_commune()
    try:
        agent = agent_for_link(db.session, token)
    except InvalidLink:
        return render_page("agent/password_link_invalid.html"), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password_from_link(db.session, ctx, token, form.password.data or "", _remote())
        except PasswordRejected as rejected:
            db.session.rollback()
            form.password.errors = [*form.password.errors, *rejected.problems]
        else:
            db.session.commit()
            flash(_("Votre mot de passe est enregistré : connectez-vous."), "success")
            return redirect(url_for("agent.login"), 303)
    status = 422 if form.errors else 200
    return render_page("agent/password_new.html", form=form, agent=agent,
                       password_help=PASSWORD_HELP), status


# --- the signed-in agent's own account -------------------------------------------------


def _actor() -> Actor:
    return Actor.agent(current_agent(), _remote())


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
def change_password() -> Any:
    agent = current_agent()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not password_matches(agent, form.current.data or ""):
            form.current.errors = [*form.current.errors, _("Mot de passe actuel incorrect.")]
        else:
            try:
                set_password(db.session, current_commune(), agent, form.password.data or "",
                             _actor(), via="account")
            except PasswordRejected as rejected:
                db.session.rollback()
                form.password.errors = [*form.password.errors, *rejected.problems]
            else:
                db.session.commit()
                sign_in(agent)  # this session goes on with the new epoch; the others end
                flash(_("Votre mot de passe est changé. Vos autres sessions sont fermées."),
                      "success")
                return redirect(url_for("account.change_password"), 303)
    status = 422 if form.errors else 200
    return render_page("agent/password_change.html", form=form,
                       password_help=PASSWORD_HELP), status


@bp.route("/compte/double-facteur", methods=["GET", "POST"])
def totp_setup() -> Any:
    ctx = current_commune()
    agent = current_agent()
    required = totp_required(agent, ctx.config)
    form = CodeForm()
    if totp_enabled(agent):
        return render_page("agent/totp_setup.html", form=form, agent=agent, required=required,
                           enabled=True)
    if start_totp_enrolment(agent, ctx):
        db.session.commit()
    if form.validate_on_submit():
        if confirm_totp_enrolment(db.session, ctx, agent, form.code.data or "", _actor()):
            db.session.commit()
            flash(_("La double authentification est activée : un code vous sera demandé "
                    "à chaque connexion."), "success")
            return redirect(url_for("agent.queue"), 303)
        db.session.commit()
        form.code.errors = [*form.code.errors, _("Code incorrect : vérifiez l'heure de votre "
                                                 "téléphone et saisissez le code affiché.")]
    secret, uri = totp_for_enrolment(agent, ctx)
    status = 422 if form.errors else 200
    return render_page(
        "agent/totp_setup.html", form=form, agent=agent, required=required, enabled=False,
        qr_data_uri=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
    ), status


@bp.post("/compte/double-facteur/desactiver")
def totp_disable() -> Response:
    ctx = current_commune()
    agent = current_agent()
    form = CodeForm()
    if totp_required(agent, ctx.config):
        flash(_("Votre rôle impose la double authentification : elle ne peut être retirée."),
              "error")
    elif form.validate_on_submit() and verify_second_factor(
            db.session, ctx, agent, form.code.data or "", _remote()):
        disable_totp(db.session, agent, _actor())
        flash(_("La double authentification est désactivée."), "success")
    else:
        flash(_("Code incorrect : la double authentification reste active."), "error")
    db.session.commit()
    return redirect(url_for("account.totp_setup"), 303)
