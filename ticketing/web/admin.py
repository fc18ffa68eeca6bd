"""The administrator's area: agents and their roles (``manage_users``), the audit journal
(``view_audit``). Thin views over ``operations.staff`` and ``operations.audit_log``.

Managing accounts gives no access to requests: these pages never show a ticket's content,
an administrator may not change their own roles, and every grant is in the journal.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ticketing.domain.deadlines import local_date
from ticketing.models import Agent, Membership, utcnow
from ticketing.operations import staff
from ticketing.operations.audit_log import (
    ACTOR_KINDS,
    AuditFilter,
    audit_page,
    audit_rows,
    known_actions,
    record_export,
)
from ticketing.operations.events import Actor
from ticketing.reporting.exports import CSV_TYPE, XLSX_TYPE, Table, to_csv, to_xlsx
from ticketing.web.admin_forms import AgentCreateForm, ButtonForm, GrantForm, IdentityForm
from ticketing.web.audit_labels import action_label, actor_kind_label, event_details
from ticketing.web.auth import current_agent, guard_agent_area
from ticketing.web.denials import log_other_refusals, note_denied
from ticketing.web.extensions import db
from ticketing.web.registry import current_commune
from ticketing.web.themes import render_page

bp = Blueprint("admin", __name__, url_prefix="/<commune>/agent/admin")
bp.after_app_request(log_other_refusals)

MANAGE_USERS = "manage_users"
VIEW_AUDIT = "view_audit"
JOURNAL_ENDPOINTS = {"admin.journal", "admin.journal_export"}
FORMATS = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}
PAGE_SIZE = 50
EXPORT_CAP = 100_000


def may(permission: str) -> bool:
    return bool(g.get("commune") and current_user.is_authenticated
                and staff.holds_permission(current_commune(), current_user.grants, permission))


@bp.before_request
def _guard() -> Any:
    refused = guard_agent_area()
    if refused is not None:
        return refused
    needed = VIEW_AUDIT if request.endpoint in JOURNAL_ENDPOINTS else MANAGE_USERS
    if not may(needed):
        note_denied(403, needed)
        abort(403)
    return None


@bp.app_context_processor
def _admin_links() -> dict[str, Any]:
    return {"can_manage_agents": lambda: may(MANAGE_USERS),
            "can_read_audit": lambda: may(VIEW_AUDIT)}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    config = current_commune().config
    return {"datetime_fr": _datetime_fr, "action_label": action_label,
            "actor_kind_label": actor_kind_label, "event_details": event_details,
            "service_name": lambda code: config.services[code].name
            if code in config.services else code,
            "role_label": lambda code: config.roles[code].label if code in config.roles else code}


def _datetime_fr(moment: Any) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(current_commune().timezone)).strftime("%d/%m/%Y %H:%M:%S")


def _actor() -> Actor:
    return Actor.agent(current_agent(), request.remote_addr)


def _choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    config = current_commune().config
    services = [(code, service.name) for code, service in config.services.items()]
    roles = [(code, role.label) for code, role in config.roles.items()]
    return services, roles


def _agent_or_404(agent_id: int) -> Agent:
    # The session is scoped to the URL's commune: another commune's agent is not found.
    agent = db.session.scalars(select(Agent).where(Agent.id == agent_id)).first()
    if agent is None:
        abort(404)
    return agent


# --- agents ----------------------------------------------------------------------------


@bp.get("/agents")
def agents() -> str:
    rows = db.session.scalars(select(Agent).order_by(Agent.active.desc(), Agent.full_name)).all()
    return render_page("admin/agents.html", agents=rows)


@bp.route("/agents/nouveau", methods=["GET", "POST"])
def new_agent() -> Any:
    form = AgentCreateForm()
    form.service.choices, form.role.choices = _with_none(*_choices())
    if form.validate_on_submit():
        memberships = ([(form.service.data, form.role.data)]
                       if form.service.data and form.role.data else [])
        try:
            agent = staff.add_agent(
                db.session, current_commune(), _actor(), email=form.email.data,
                full_name=form.full_name.data, title=form.title.data or "",
                memberships=memberships)
        except staff.StaffChangeRefused as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Compte créé : une invitation à choisir un mot de passe a été envoyée à "
                    "%(email)s.", email=agent.email), "success")
            return redirect(url_for(".agent", agent_id=agent.id), 303)
    return render_page("admin/agent_new.html", form=form)


def _with_none(services: list[tuple[str, str]],
               roles: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return [("", _("— aucun —")), *services], [("", _("— aucun —")), *roles]


@bp.get("/agents/<int:agent_id>")
def agent(agent_id: int) -> str:
    target = _agent_or_404(agent_id)
    identity = IdentityForm(full_name=target.full_name, title=target.title)
    grant = GrantForm()
    grant.service.choices, grant.role.choices = _choices()
    return render_page("admin/agent_edit.html", agent=target, identity=identity, grant=grant,
                       button=ButtonForm(), is_self=target.id == current_agent().id)


def _apply(agent_id: int, change: Any, success: str) -> Response:
    """Run ``change(agent)``; commit and say ``success``, or roll back and say why not."""
    target = _agent_or_404(agent_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        change(target)
    except staff.StaffChangeRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(url_for(".agent", agent_id=agent_id), 303)


@bp.post("/agents/<int:agent_id>/identite")
def update_identity(agent_id: int) -> Response:
    form = IdentityForm()
    if not form.validate():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for(".agent", agent_id=agent_id), 303)
    return _apply(agent_id, lambda a: staff.update_identity(
        db.session, current_commune(), _actor(), a, full_name=form.full_name.data,
        title=form.title.data or ""), _("Identité enregistrée."))


@bp.post("/agents/<int:agent_id>/roles")
def grant_role(agent_id: int) -> Response:
    form = GrantForm()
    form.service.choices, form.role.choices = _choices()
    if not form.validate():
        flash(_("Choisissez un service et un rôle de la commune."), "error")
        return redirect(url_for(".agent", agent_id=agent_id), 303)
    return _apply(agent_id, lambda a: staff.grant_role(
        db.session, current_commune(), _actor(), a, form.service.data, form.role.data),
        _("Rôle attribué."))


@bp.post("/agents/<int:agent_id>/roles/<int:membership_id>/retirer")
def revoke_role(agent_id: int, membership_id: int) -> Response:
    def change(target: Agent) -> None:
        membership = db.session.get(Membership, membership_id)
        if membership is None or membership.agent_id != target.id:
            abort(404)
        staff.revoke_role(db.session, current_commune(), _actor(), target, membership)

    return _apply(agent_id, change, _("Rôle retiré."))


@bp.post("/agents/<int:agent_id>/desactiver")
def deactivate(agent_id: int) -> Response:
    return _apply(agent_id, lambda a: staff.deactivate(db.session, current_commune(), _actor(), a),
                  _("Compte désactivé : ses sessions sont closes."))


@bp.post("/agents/<int:agent_id>/reactiver")
def reactivate(agent_id: int) -> Response:
    return _apply(agent_id, lambda a: staff.reactivate(db.session, current_commune(), _actor(), a),
                  _("Compte réactivé."))


@bp.post("/agents/<int:agent_id>/double-authentification/retirer")
def remove_second_factor(agent_id: int) -> Response:
    return _apply(agent_id, lambda a: staff.remove_second_factor(
        db.session, current_commune(), _actor(), a),
        _("Double authentification retirée : l'agent se connecte avec son mot de passe."))


@bp.post("/agents/<int:agent_id>/invitation")
def invite(agent_id: int) -> Response:
    return _apply(agent_id, lambda a: staff.invite_agent(db.session, current_commune(),
                                                         _actor(), a),
                  _("Lien pour choisir un mot de passe envoyé."))


# --- audit journal ---------------------------------------------------------------------


def _journal_filter(values: Any) -> AuditFilter:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(values.get(name, ""))
        except ValueError:
            return None

    return AuditFilter(start=day("du"), end=day("au"), actor=values.get("acteur") or None,
                       action=values.get("action") or None,
                       ticket_number=(values.get("demande") or "").strip() or None)


def _filter_args(wanted: AuditFilter) -> dict[str, str]:
    args = {"du": wanted.start.isoformat() if wanted.start else "",
            "au": wanted.end.isoformat() if wanted.end else "",
            "acteur": wanted.actor or "", "action": wanted.action or "",
            "demande": wanted.ticket_number or ""}
    return {key: value for key, value in args.items() if value}


@bp.get("/journal")
def journal() -> str:
    ctx = current_commune()
    wanted = _journal_filter(request.args)
    cursor = request.args.get("avant", "")
    rows, next_cursor = audit_page(db.session, ctx.commune_id, ctx.timezone, wanted,
                                   int(cursor) if cursor.isdigit() else None, PAGE_SIZE)
    agents_list = db.session.scalars(select(Agent).order_by(Agent.full_name)).all()
    actor_options = [(f"agent:{a.id}", f"{a.full_name} ({a.email})") for a in agents_list]
    actor_options += [(f"kind:{kind}", actor_kind_label(kind)) for kind in ACTOR_KINDS]
    actions = [(code, action_label(code)) for code in known_actions(db.session, ctx.commune_id)]
    return render_page("admin/journal.html", rows=rows, wanted=wanted,
                       filter_args=_filter_args(wanted), next_cursor=next_cursor,
                       first_page=not cursor, actor_options=actor_options,
                       action_options=actions, export_form=ButtonForm())


@bp.post("/journal/export.<fmt>")
def journal_export(fmt: str) -> Response:
    if fmt not in FORMATS:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    ctx = current_commune()
    wanted = _journal_filter(request.form)
    rows = audit_rows(db.session, ctx.commune_id, ctx.timezone, wanted, EXPORT_CAP)
    table = Table(_("Journal d'audit"), [
        _("N° d'ordre"), _("Date et heure"), _("Auteur"), _("Type d'auteur"), _("Action"),
        _("Code de l'action"), _("Demande"), _("Détails"), _("Adresse IP"), _("Empreinte")],
        [[row.event.sequence, _datetime_fr(row.event.created_at), row.event.actor_label,
          actor_kind_label(row.event.actor_kind), action_label(row.event.action),
          row.event.action, row.ticket_number, event_details(row.event),
          row.event.remote_addr, row.event.hash] for row in rows])
    record_export(db.session, ctx.commune_id, _actor(), wanted, fmt, len(rows))
    db.session.commit()
    body = to_csv([table]) if fmt == "csv" else to_xlsx([table])
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    response.headers["Content-Type"] = FORMATS[fmt]
    today = local_date(utcnow(), ctx.timezone).isoformat()
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ctx.config.slug}-journal-audit-{today}.{fmt}"')
    response.headers["Cache-Control"] = "private, no-store"
    return response

