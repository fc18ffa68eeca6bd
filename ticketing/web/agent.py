"""The agent side: login, service queues, ticket view and actions (thin views over use cases)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from jinja2 import TemplateError
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from ticketing.domain.deadlines import local_date
from ticketing.models import Attachment, AuditEvent, ReplyDraft, Status, Ticket, utcnow
from ticketing.operations.accounts import authenticate, record_logout
from ticketing.operations.attachments import blob_path
from ticketing.operations.drafts import DraftRefused, open_draft, submit_reply
from ticketing.operations.events import Actor
from ticketing.operations.tickets import (
    LocationRejected,
    add_note,
    assign,
    render_reply_template,
    set_location,
    set_status,
)
from ticketing.web.account import SSO_ID_TOKEN, continue_login, failed_attempt, form_email_key
from ticketing.web.agent_dispatch import dispatch_detail, notify_mentioned
from ticketing.web.agent_forms import (
    LocationForm,
    LoginForm,
    NoteForm,
    ReplyForm,
    StatusForm,
    agent_status_label,
    coordinate,
)
from ticketing.web.auth import (
    check_ticket,
    current_agent,
    guard_agent_area,
    local_path,
    permissions_on_ticket,
    require,
    services_in_view,
)
from ticketing.web.extensions import db, limiter
from ticketing.web.labels import (
    CONTACT_ACTION_LABELS,
    DISPATCH_ACTION_LABELS,
    LINK_ACTION_LABELS,
    channel_label,
    link_detail,
)
from ticketing.web.postal_letters import letter_for_postal_reply
from ticketing.web.queries import STATUS_FILTERS, QueueFilter, queue_page, ticket_history
from ticketing.web.registry import current_commune, registry
from ticketing.web.sso import provider_logout_url
from ticketing.web.themes import render_page

bp = Blueprint("agent", __name__, url_prefix="/<commune>/agent")

OPEN_ENDPOINTS = {"agent.login"}

STATUS_FILTER_LABELS = {"open": _l("À traiter (reçues, en cours, en attente)"),
                        "all": _l("Tous les statuts")}

PRIORITY_LABELS = {"low": _l("Basse"), "normal": _l("Normale"), "high": _l("Haute"),
                   "urgent": _l("Urgente")}

ACTION_LABELS = {
    "ticket.anonymised": _l("Demande anonymisée (RGPD)"),
    "ticket.created": _l("Demande enregistrée"),
    "ticket.registered": _l("Inscrite au registre du courrier et de l'accueil"),
    "acknowledgement.slip_issued": _l("Accusé de réception imprimé remis ou à envoyer"),
    "acknowledgement.queued": _l("Accusé de réception préparé"),
    "ticket.replied": _l("Réponse envoyée à l'usager"),
    "ticket.noted": _l("Note interne ajoutée"),
    "ticket.status_changed": _l("Statut modifié"),
    "ticket.assigned": _l("Affectation modifiée"),
    "ticket.located": _l("Localisation modifiée"),
    "mail.sent": _l("Courriel envoyé"),
    "mail.failed": _l("Échec de l'envoi d'un courriel"),
    "deadline.clock_paused": _l("Délai suspendu (en attente de l'usager)"),
    "deadline.clock_resumed": _l("Délai repris, échéance recalculée"),
    "deadline.recomputed": _l("Échéances recalculées par l'administrateur"),
    "deadline.warned": _l("Avertissement d'échéance envoyé"),
    "deadline.escalated": _l("Relance pour retard envoyée"),
    "reply.submitted": _l("Réponse soumise au visa (parapheur)"),
    "reply.resubmitted": _l("Réponse corrigée et soumise à nouveau au visa"),
    "reply.edited": _l("Projet de réponse modifié par le valideur"),
    "reply.returned": _l("Projet de réponse renvoyé à son auteur"),
    "reply.approved": _l("Réponse visée"),
    "letter.produced": _l("Lettre PDF produite"),
    **DISPATCH_ACTION_LABELS,
    **LINK_ACTION_LABELS,
    **CONTACT_ACTION_LABELS,
}


@bp.before_request
def _guard() -> Any:
    if request.endpoint in OPEN_ENDPOINTS:
        current_commune()  # an unknown commune has no login page either
        return None
    return guard_agent_area()


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"status_label": agent_status_label, "channel_label": channel_label,
            "date_fr": date_fr, "datetime_fr": datetime_fr}


def date_fr(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def datetime_fr(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(current_commune().timezone))
    return local.strftime("%d/%m/%Y à %H:%M")


def _today() -> date:
    return local_date(utcnow(), current_commune().timezone)


def _actor() -> Actor:
    return Actor.agent(current_agent(), request.remote_addr)


def _back_to(ticket: Ticket) -> Response:
    return redirect(url_for(".ticket", number=ticket.number), 303)


# --- sign in and out -------------------------------------------------------------------


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(lambda: registry().settings.login_limit, methods=["POST"])
@limiter.limit(lambda: registry().settings.login_account_limit, key_func=form_email_key,
               methods=["POST"], deduct_when=failed_attempt)
def login() -> Any:
    ctx = current_commune()
    target = local_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for(".queue"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        agent = authenticate(db.session, ctx.commune_id, form.email.data or "",
                             form.password.data or "", request.remote_addr)
        db.session.commit()  # a failed attempt is audited
        if agent is not None:
            return continue_login(agent, target)  # second factor, then the session
        error = _("Adresse ou mot de passe incorrect.")
    status = 200 if error is None and not form.errors else 422
    return render_page("agent/login.html", form=form, error=error, next=target), status


@bp.post("/deconnexion")
def logout() -> Response:
    """Local logout; after a single sign-on, on to the identity provider's logout too."""
    id_token = session.get(SSO_ID_TOKEN)
    if current_user.is_authenticated:
        record_logout(db.session, current_agent(), request.remote_addr)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("Vous êtes déconnecté(e)."), "success")
    provider = provider_logout_url(current_commune(), id_token) if id_token else None
    return redirect(provider or url_for(".login"), 303)


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> tuple[str, int]:
    return render_page("agent/too_many.html"), 429


# --- the queue -------------------------------------------------------------------------


@bp.get("/")
def queue() -> str:
    ctx = current_commune()
    services = services_in_view()
    flt = QueueFilter.from_args(request.args, services)
    today = _today()
    page = queue_page(db.session, ctx.commune_id, services, flt, today, current_agent().id)
    service_options = sorted(((code, ctx.config.services[code].name) for code in services),
                             key=lambda option: option[1])
    status_options = [(code, STATUS_FILTER_LABELS.get(code) or agent_status_label(code))
                      for code in STATUS_FILTERS]
    return render_page("agent/queue.html", page=page, flt=flt, today=today,
                       services=ctx.config.services, categories=ctx.config.categories,
                       service_options=service_options, status_options=status_options)


# --- one ticket ------------------------------------------------------------------------


@bp.get("/tickets/<number>")
@require("view")
def ticket(ticket: Ticket) -> Any:
    allowed = permissions_on_ticket(ticket)
    reply_form = ReplyForm()
    chosen = request.args.get("modele") or ""
    if chosen and "reply" in allowed:
        codes = {t.code for t in current_commune().config.templates_for(ticket.service_code)}
        if chosen not in codes:
            flash(_("Ce modèle n'existe pas pour ce service."), "error")
        else:
            try:
                reply_form.subject.data, reply_form.body.data = render_reply_template(
                    current_commune(), ticket, current_agent(), chosen)
            except TemplateError:
                flash(_("Ce modèle ne peut pas être utilisé : signalez-le à "
                        "l'administrateur."), "error")
    return _ticket_page(ticket, allowed, reply_form=reply_form, chosen_template=chosen)


@bp.post("/tickets/<number>/reponse")
@require("reply")
def reply(ticket: Ticket) -> Any:
    allowed = permissions_on_ticket(ticket)
    form = ReplyForm()
    form.limit_statuses(ticket.status, allowed)
    if not form.validate():
        return _ticket_page(ticket, allowed, reply_form=form, status=422)
    try:
        sent = submit_reply(db.session, current_commune(), ticket, current_agent(),
                            form.subject.data or "", form.body.data or "",
                            Status(form.status.data), _actor())
    except DraftRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back_to(ticket)
    db.session.commit()
    if isinstance(sent, ReplyDraft):
        flash(_("Réponse soumise au visa (%(rule)s) : elle partira chez l'usager une fois "
                "visée.", rule=sent.rule_name), "success")
    elif ticket.citizen.email:
        flash(_("Réponse enregistrée ; elle part par courriel à l'usager."), "success")
    elif letter_for_postal_reply(sent) is not None:
        flash(_("Réponse enregistrée. L'usager n'a pas d'adresse électronique : la lettre "
                "PDF est prête dans les pièces jointes, à imprimer et poster."), "success")
    else:
        flash(_("Réponse enregistrée. L'usager n'a pas d'adresse électronique : "
                "envoyez-la par courrier."), "success")
    return _back_to(ticket)


@bp.post("/tickets/<number>/note")
@require("note")
def note(ticket: Ticket) -> Any:
    form = NoteForm()
    if not form.validate():
        return _ticket_page(ticket, permissions_on_ticket(ticket), note_form=form, status=422)
    entry = add_note(db.session, ticket, current_agent(), form.body.data or "", _actor())
    flash(_("Note interne enregistrée."), "success")
    notify_mentioned(ticket, entry)  # @prenom.nom in the note tells those colleagues
    db.session.commit()
    return _back_to(ticket)


@bp.post("/tickets/<number>/statut")
@require("change_status")
def change_status(ticket: Ticket) -> Any:
    allowed = permissions_on_ticket(ticket)
    form = StatusForm()
    form.limit_statuses(ticket.status, allowed)
    if not form.validate():
        if form.status.data in set(Status):
            abort(403)  # a real status, but not one this agent may set now
        return _ticket_page(ticket, allowed, status_form=form, status=422)
    new_status = Status(form.status.data)
    set_status(db.session, ticket, new_status, _actor(), current_commune().config)
    db.session.commit()
    flash(_("Statut modifié : %(status)s.", status=agent_status_label(new_status)), "success")
    return _back_to(ticket)


@bp.post("/tickets/<number>/localisation")
@require("change_status")
def locate(ticket: Ticket) -> Any:
    allowed = permissions_on_ticket(ticket)
    form = LocationForm()
    form.limit_zones(current_commune().config.commune.zones)
    if not form.validate():
        return _ticket_page(ticket, allowed, location_form=form, status=422)
    try:
        set_location(db.session, current_commune(), ticket, form.zone.data or None,
                     coordinate(form.latitude.data), coordinate(form.longitude.data), _actor())
    except LocationRejected as exc:  # the form checks the same; a second lock
        db.session.rollback()
        target = form.zone if exc.field == "zone" else form.latitude
        target.errors = [*target.errors, str(exc)]
        return _ticket_page(ticket, allowed, location_form=form, status=422)
    db.session.commit()
    flash(_("Localisation enregistrée."), "success")
    return _back_to(ticket)


@bp.post("/tickets/<number>/prise-en-charge")
@require("reply", "assign")
def take(ticket: Ticket) -> Response:
    assign(db.session, ticket, current_agent(), _actor())
    db.session.commit()
    flash(_("Vous avez pris en charge cette demande."), "success")
    return _back_to(ticket)


@bp.get("/pieces/<public_id>")
def attachment(public_id: str) -> Response:
    found = db.session.scalars(
        select(Attachment).where(Attachment.public_id == public_id)).first()
    if found is None:
        abort(404)
    check_ticket(found.ticket, "view")
    path = blob_path(registry().settings.attachments_dir, found.sha256)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=found.content_type, as_attachment=True,
                         download_name=found.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _ticket_page(
    ticket: Ticket, allowed: set[str], reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None, status_form: StatusForm | None = None,
    location_form: LocationForm | None = None, chosen_template: str = "", status: int = 200,
) -> tuple[str, int]:
    config = current_commune().config
    if location_form is None:
        location_form = LocationForm(formdata=None, zone=ticket.zone_code or "",
                                     latitude=_coordinate_text(ticket.latitude),
                                     longitude=_coordinate_text(ticket.longitude))
    location_form.limit_zones(config.commune.zones)
    reply_form = reply_form or ReplyForm(formdata=None)
    reply_form.limit_statuses(ticket.status, allowed)
    status_form = status_form or StatusForm(formdata=None)
    status_form.limit_statuses(ticket.status, allowed)
    category = config.categories.get(ticket.category_code or "")
    field_labels = {f.name: f.label for f in category.extra_fields} if category else {}
    can_take = bool(allowed & {"reply", "assign"}) and ticket.assignee_id != current_agent().id
    page = render_page(
        "agent/ticket.html", ticket=ticket, category=category,
        service=config.services.get(ticket.service_code),
        extra_fields=[(field_labels.get(k, k), v) for k, v in ticket.extra_fields.items()],
        priority_labels=PRIORITY_LABELS,
        history=[_describe(e) for e in ticket_history(db.session, ticket)],
        overdue=ticket.is_open and ticket.answer_due_on < _today(),
        decision_days_left=(ticket.decision_due_on - _today()).days
        if ticket.decision_due_on else None,
        can={"reply": "reply" in allowed and bool(reply_form.status.choices)
             and open_draft(db.session, ticket) is None,  # one draft at a time in the parapheur
             "note": "note" in allowed,
             "change_status": "change_status" in allowed and bool(status_form.status.choices),
             "take": can_take, "locate": "change_status" in allowed},
        templates=config.templates_for(ticket.service_code), chosen_template=chosen_template,
        reply_form=reply_form, note_form=note_form or NoteForm(formdata=None),
        status_form=status_form, location_form=location_form,
        zone=next((z for z in config.commune.zones if z.code == ticket.zone_code), None),
        position=(_coordinate_text(ticket.latitude), _coordinate_text(ticket.longitude))
        if ticket.latitude is not None and ticket.longitude is not None else None,
    )
    return page, status


def _coordinate_text(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".").replace(".", ",")


def _describe(event: AuditEvent) -> dict[str, Any]:
    """One line of the history: when, who, what (in French where we know the action)."""
    detail = dispatch_detail(event)  # transfers, copies, forwarding, reopening…
    before, after = event.before or {}, event.after or {}
    if not detail and "status" in after:
        old, new = before.get("status", ""), after["status"]
        detail = f"{agent_status_label(old)} → {agent_status_label(new)}"
    elif event.action == "ticket.replied":
        detail = after.get("subject", "")
    elif event.action == "reply.returned":
        detail = after.get("comment", "")
    elif event.action == "ticket.located":
        detail = _location_detail(after)
    elif event.action in LINK_ACTION_LABELS:
        detail = link_detail(before, after)
    label = ACTION_LABELS.get(event.action)
    return {"when": datetime_fr(event.created_at), "actor": event.actor_label,
            "action": str(label) if label else event.action, "detail": detail}


def _location_detail(after: dict[str, Any]) -> str:
    zones = {z.code: z.label for z in current_commune().config.commune.zones}
    parts = []
    if "zone_code" in after:
        code = after["zone_code"]
        parts.append(_("quartier : %(zone)s", zone=zones.get(code, code) if code else "—"))
    if "latitude" in after or "longitude" in after:
        parts.append(_("position modifiée"))
    return ", ".join(parts)
