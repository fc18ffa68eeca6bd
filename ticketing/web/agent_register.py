"""Registering letters, phone calls and counter visits (permission "register"), and the
printable acknowledgement slip of any ticket. Thin views over operations.registration."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from ticketing.config.schema import Channel
from ticketing.documents.acknowledgement_slip import render_acknowledgement_slip, slip_filename
from ticketing.domain.deadlines import local_date
from ticketing.models import Citizen, RegisterEntry, Ticket, TicketCopy, utcnow
from ticketing.operations.acknowledgement import text_message_number
from ticketing.operations.attachments import IncomingFile, blob_path
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails, IntakeRejected
from ticketing.operations.registration import (
    Registration,
    find_citizens,
    register_request,
    registration_of,
)
from ticketing.web.auth import (
    current_agent,
    guard_agent_area,
    permissions_on_ticket,
    require,
    services_in_view,
)
from ticketing.web.extensions import db
from ticketing.web.labels import channel_label
from ticketing.web.paging import page_number, paginate
from ticketing.web.public_forms import ACCEPT_HINTS
from ticketing.web.register_forms import RegisterForm
from ticketing.web.registry import current_commune, registry
from ticketing.web.themes import render_page

bp = Blueprint("agent_register", __name__, url_prefix="/<commune>/agent")

# The URL word of each channel an agent registers.
KINDS = {"courrier": Channel.LETTER, "telephone": Channel.PHONE, "accueil": Channel.COUNTER}
TITLES = {Channel.LETTER: _l("Enregistrer un courrier"),
          Channel.PHONE: _l("Enregistrer un appel"),
          Channel.COUNTER: _l("Enregistrer une visite à l'accueil")}
PDF_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


@bp.before_request
def _guard() -> Any:
    return guard_agent_area()


def may_register() -> bool:
    """A "register" grant in any service (or commune-wide) allows registering."""
    roles = current_commune().config.roles
    return any(role is not None and "register" in role.permissions
               for role in (roles.get(grant.role_code) for grant in current_user.grants))


def _require_register() -> None:
    if not may_register():
        abort(403)


@bp.app_context_processor
def _register_helpers() -> dict[str, Any]:
    def can_register() -> bool:
        return bool(g.get("commune") and current_user.is_authenticated and may_register())

    def register_entry(ticket: Ticket) -> RegisterEntry | None:
        return registration_of(db.session, ticket)

    return {"can_register": can_register, "register_entry": register_entry}


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"channel_label": channel_label, "date_fr": _date_fr, "datetime_fr": _datetime_fr}


def _date_fr(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _datetime_fr(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(current_commune().timezone)).strftime("%d/%m/%Y à %H:%M")


def _today() -> date:
    return local_date(utcnow(), current_commune().timezone)


# --- registering -----------------------------------------------------------------------


@bp.get("/enregistrer")
def index() -> str:
    _require_register()
    page = paginate(db.session, register_statement(current_commune().commune_id),
                    page_number(request.args))
    return render_page("agent/register_index.html", kinds=KINDS, titles=TITLES,
                       entries=page.items, page=page, services=current_commune().config.services,
                       shown=_shown(page.items))


def register_statement(commune_id: int) -> Select[tuple[RegisterEntry]]:
    """The commune's register, newest line first."""
    return (select(RegisterEntry).where(RegisterEntry.commune_id == commune_id)
            .options(joinedload(RegisterEntry.ticket), joinedload(RegisterEntry.registered_by))
            .order_by(RegisterEntry.registered_at.desc(), RegisterEntry.id.desc()))


def _shown(entries: list[RegisterEntry]) -> set[int]:
    """The entries whose details the reader may see (``_may_see``, in one query): those they
    registered, and those whose ticket is in, or copied to, a service they can view."""
    if not entries:
        return set()
    services = sorted(services_in_view())
    copied = select(TicketCopy.ticket_id).where(TicketCopy.service_code.in_(services))
    return set(db.session.scalars(
        select(RegisterEntry.id).join(Ticket, Ticket.id == RegisterEntry.ticket_id)
        .where(RegisterEntry.id.in_([e.id for e in entries]),
               or_(RegisterEntry.registered_by_id == current_agent().id,
                   Ticket.service_code.in_(services), Ticket.id.in_(copied)))))


@bp.route("/enregistrer/<kind>", methods=["GET", "POST"])
def register(kind: str) -> Any:
    _require_register()
    channel = KINDS.get(kind)
    if channel is None:
        abort(404)
    ctx = current_commune()
    today = _today()
    categories = sorted(((c.code, c.label) for c in ctx.config.categories.values()),
                        key=lambda option: option[1])
    form = RegisterForm(channel, categories, today)
    form.files.render_kw = {"accept": ",".join(
        ACCEPT_HINTS.get(t, t) for t in ctx.config.commune.attachments.allowed_types)}
    search = (request.args.get("q") or "").strip()[:100]
    if form.validate_on_submit():
        agent = current_agent()
        try:
            entry = register_request(db.session, ctx, _registration(form, channel, today), agent,
                                     Actor.agent(agent, request.remote_addr),
                                     registry().settings.themes_dir)
        except IntakeRejected as exc:
            db.session.rollback()
            target = getattr(form, _FIELD_OF.get(exc.field, exc.field), None) or form.description
            target.errors = [*target.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Demande enregistrée sous le n° %(number)s.", number=entry.number), "success")
            return redirect(url_for(".registered", register_number=entry.number), 303)
    picked = form.picked_citizen()
    matches = find_citizens(db.session, ctx.commune_id, search) if search else []
    if picked is not None and all(c.id != picked for c in matches):
        chosen = db.session.get(Citizen, picked)  # keep the choice shown after an error
        if chosen is not None and chosen.commune_id == ctx.commune_id:
            matches = [chosen, *matches]
    status = 422 if form.is_submitted() else 200
    return render_page("agent/register_form.html", form=form, kind=kind, channel=channel,
                       title=TITLES[channel], search=search, matches=matches,
                       picked=picked, sms=ctx.config.commune.sms is not None), status


# IntakeRejected names model fields; the form's names differ for a few.
_FIELD_OF = {"attachments": "files", "citizen": "last_name"}


def _registration(form: RegisterForm, channel: Channel, today: date) -> Registration:
    received_on: date = form.received_on.data
    return Registration(
        channel=channel,
        description=form.description.data or "",
        received_at=_received_at(received_on, today),
        citizen_id=form.picked_citizen(),
        citizen=CitizenDetails(
            last_name=form.last_name.data or "", first_name=form.first_name.data or "",
            email=form.email.data or None, phone=form.phone.data or None,
            address=form.address.data or None),
        subject=form.subject.data or "",
        category_code=form.category.data or None,
        sent_on=form.sent_on.data if form.sent_on is not None else None,
        location=form.location.data or None,
        files=[IncomingFile(f.filename or "", f.read()) for f in form.uploaded_files()],
    )


def _received_at(received_on: date, today: date) -> datetime:
    """Now when received today; noon (local time) of an earlier day otherwise."""
    if received_on == today:
        return utcnow()
    zone = ZoneInfo(current_commune().timezone)
    return datetime.combine(received_on, time(12, 0), tzinfo=zone)


@bp.get("/enregistrer/fait/<register_number>")
def registered(register_number: str) -> str:
    entry = _entry(register_number)
    ticket = entry.ticket
    return render_page("agent/register_done.html", entry=entry, ticket=ticket,
                       service=current_commune().config.services.get(ticket.service_code),
                       can_view="view" in permissions_on_ticket(ticket),
                       sms_number=text_message_number(current_commune(), ticket))


@bp.get("/enregistrer/fait/<register_number>/accuse-de-reception.pdf")
def stored_slip(register_number: str) -> Response:
    """The slip produced at registration."""
    entry = _entry(register_number)
    if entry.slip is None:
        abort(404)
    path = blob_path(registry().settings.attachments_dir, entry.slip.sha256)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=entry.slip.filename, max_age=0)
    response.headers.update(PDF_HEADERS)
    return response


def _entry(register_number: str) -> RegisterEntry:
    """A line of the register, for the agent who wrote it or anyone who may view its ticket
    (the ticket may have gone to a service the registrar cannot see); 404 otherwise."""
    entry = db.session.scalars(
        select(RegisterEntry).where(RegisterEntry.number == register_number)).first()
    if entry is None or not _may_see(entry):
        abort(404)
    return entry


def _may_see(entry: RegisterEntry) -> bool:
    return entry.registered_by_id == current_agent().id \
        or "view" in permissions_on_ticket(entry.ticket)


# --- the slip of any ticket ------------------------------------------------------------


@bp.get("/tickets/<number>/accuse-de-reception.pdf")
@require("view")
def slip(ticket: Ticket) -> Response:
    """The acknowledgement slip as of now (a fresh PDF, with the register number if any)."""
    entry = registration_of(db.session, ticket)
    pdf = render_acknowledgement_slip(current_commune(), ticket, registry().settings.themes_dir,
                                      utcnow(), register_number=entry.number if entry else None)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{slip_filename(ticket)}"'
    response.headers.update(PDF_HEADERS)
    return response
