"""Finding things on the agent side: search, a citizen's page, merging and linking tickets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from ticketing.domain.rights import permissions_on
from ticketing.models import AuditEvent, Ticket
from ticketing.operations.events import Actor
from ticketing.operations.merge import (
    LinkRefused,
    link_tickets,
    linked_tickets,
    merge_tickets,
    unlink_tickets,
)
from ticketing.operations.subject_access import (
    ArchiveTooLarge,
    ExportRefused,
    Labels,
    export_citizen_data,
    services_holding,
)
from ticketing.search.citizens import citizen_file
from ticketing.search.service import search as search_tickets
from ticketing.web.agent import ACTION_LABELS, date_fr, datetime_fr
from ticketing.web.agent_forms import agent_status_label
from ticketing.web.auth import (
    current_agent,
    guard_agent_area,
    load_ticket,
    permissions_on_ticket,
    require,
    services_in_view,
)
from ticketing.web.denials import note_denied
from ticketing.web.extensions import db
from ticketing.web.labels import channel_label, status_label
from ticketing.web.registry import current_commune
from ticketing.web.themes import render_page

bp = Blueprint("agent_search", __name__, url_prefix="/<commune>/agent")



class TargetForm(FlaskForm):
    target = StringField(_l("Numéro de l'autre demande"),
                         validators=[DataRequired(_l("Indiquez le numéro de la demande.")),
                                     Length(max=20)])


class MergeForm(TargetForm):
    target = StringField(_l("Numéro de la demande à conserver"),
                         validators=[DataRequired(_l("Indiquez le numéro de la demande.")),
                                     Length(max=20)])
    confirm = BooleanField(_l("Je confirme : cette demande sera clôturée et ses échanges "
                              "rejoindront l'autre demande."),
                           validators=[DataRequired(_l("Cochez la case pour confirmer."))])


@bp.before_request
def _guard() -> Any:
    return guard_agent_area()


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"status_label": agent_status_label, "channel_label": channel_label,
            "date_fr": date_fr, "datetime_fr": datetime_fr}


@bp.app_context_processor
def _slot_helpers() -> dict[str, Callable[..., Any]]:
    return {"ticket_links_panel": ticket_links_panel}


def ticket_links_panel(ticket: Ticket) -> dict[str, Any]:
    """What the ticket page's "linked tickets" panel shows to the signed-in agent."""
    linked = linked_tickets(db.session, ticket)
    visible = [lt for lt in linked if "view" in permissions_on_ticket(lt.ticket)]
    can_merge = "merge" in permissions_on_ticket(ticket)
    merged = any(lt.role == "merged_into" for lt in linked)
    return {"linked": visible, "hidden": len(linked) - len(visible),
            "can_link": can_merge, "can_merge": can_merge and not merged,
            "merge_form": MergeForm(formdata=None), "link_form": TargetForm(formdata=None)}


def _actor() -> Actor:
    return Actor.agent(current_agent(), request.remote_addr)


# --- search and the citizen's page -----------------------------------------------------


@bp.get("/recherche")
def search() -> str:
    ctx = current_commune()
    query = (request.args.get("q") or "").strip()
    before = request.args.get("avant", "")
    results = search_tickets(db.session, ctx.commune_id, query, services_in_view(),
                             before=int(before) if before.isdigit() else None)
    return render_page("agent/search.html", query=query, results=results,
                       first_page=not before.isdigit(), services=ctx.config.services)


@bp.get("/usagers/<int:citizen_id>")
def citizen(citizen_id: int) -> str:
    ctx = current_commune()
    found = citizen_file(db.session, ctx.commune_id, citizen_id, services_in_view())
    if found is None:
        abort(404)  # unknown, or no request this agent may view: same answer
    numbers = {t.id: t.number for t in found.tickets}
    return render_page("agent/citizen.html", file=found, services=ctx.config.services,
                       history=[_describe(e, numbers) for e in found.events])


# --- the right of access (RGPD): everything held about one citizen ------------------------

EXPORT_NEEDS = {"view", "export"}


def _export_services() -> set[str]:
    """The services where the signed-in agent may view and export tickets."""
    config = current_commune().config
    return {code for code in config.services
            if EXPORT_NEEDS <= permissions_on(current_user.grants, config.roles, code)}


@bp.context_processor
def _export_helpers() -> dict[str, Any]:
    def may_export_citizen(citizen_id: int) -> bool:
        services = services_holding(db.session, current_commune().commune_id, citizen_id)
        return bool(services) and services <= _export_services()

    return {"may_export_citizen": may_export_citizen}


@bp.post("/usagers/<int:citizen_id>/export-rgpd")
def citizen_export(citizen_id: int) -> Response:
    """The ZIP of the citizen's data; needs "export" on every service holding some of it."""
    ctx = current_commune()
    if citizen_file(db.session, ctx.commune_id, citizen_id, services_in_view()) is None:
        abort(404)  # as the citizen's page: unknown, or nothing of theirs in view
    try:
        archive = export_citizen_data(
            db.session, ctx, citizen_id, _export_services(), _actor(),
            labels=Labels(status=status_label, channel=channel_label))
    except ExportRefused:
        note_denied(403, "export")
        abort(403)
    except ArchiveTooLarge as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return redirect(url_for(".citizen", citizen_id=citizen_id), 303)
    if archive is None:
        abort(404)
    db.session.commit()
    response = send_file(archive.file, mimetype="application/zip", as_attachment=True,
                         download_name=archive.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _describe(event: AuditEvent, numbers: dict[int, str]) -> dict[str, Any]:
    label = ACTION_LABELS.get(event.action)
    return {"when": datetime_fr(event.created_at), "actor": event.actor_label,
            "number": numbers.get(event.ticket_id or 0, ""),
            "action": str(label) if label else event.action}


# --- merge and link ----------------------------------------------------------------------


def _other_ticket(form: TargetForm, ticket: Ticket) -> Ticket | None:
    """The ticket named in ``form``, checked for "merge"; None (and a message) if the form
    is invalid or the agent cannot see it. 403 if it can see it without the right."""
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return None
    number = (form.target.data or "").strip()
    other = load_ticket(number)
    if other is None or "view" not in permissions_on_ticket(other):
        flash(_("Aucune demande n° %(number)s parmi celles que vous pouvez consulter.",
                number=number), "error")
        return None
    if "merge" not in permissions_on_ticket(other):
        abort(403)
    return other


def _back_to(ticket: Ticket) -> Response:
    return redirect(url_for("agent.ticket", number=ticket.number), 303)


@bp.post("/tickets/<number>/fusion")
@require("merge")
def merge(ticket: Ticket) -> Response:
    kept = _other_ticket(MergeForm(), ticket)
    if kept is None:
        return _back_to(ticket)
    try:
        merge_tickets(db.session, ticket, kept, _actor(), current_commune())
    except LinkRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return _back_to(ticket)
    db.session.commit()
    flash(_("La demande n° %(duplicate)s a été fusionnée dans celle-ci.",
            duplicate=ticket.number), "success")
    return _back_to(kept)


@bp.post("/tickets/<number>/liens")
@require("merge")
def link(ticket: Ticket) -> Response:
    other = _other_ticket(TargetForm(), ticket)
    if other is None:
        return _back_to(ticket)
    try:
        link_tickets(db.session, ticket, other, _actor())
    except LinkRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return _back_to(ticket)
    db.session.commit()
    flash(_("Demande liée à la demande n° %(number)s.", number=other.number), "success")
    return _back_to(ticket)


@bp.post("/tickets/<number>/liens/<other_number>/retrait")
@require("merge")
def unlink(ticket: Ticket, other_number: str) -> Response:
    other = load_ticket(other_number)
    if other is None or "view" not in permissions_on_ticket(other):
        abort(404)
    if "merge" not in permissions_on_ticket(other):
        abort(403)
    try:
        unlink_tickets(db.session, ticket, other, _actor())
    except LinkRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return _back_to(ticket)
    db.session.commit()
    flash(_("Lien avec la demande n° %(number)s retiré.", number=other.number), "success")
    return _back_to(ticket)
