"""Public pages of a commune: the request form, its confirmation, the tracking page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from ticketing.config.schema import Channel, DayUnit
from ticketing.domain.codes import normalise_tracking_code
from ticketing.domain.routing import fold
from ticketing.mail_templates import format_date_fr
from ticketing.models import Citizen, Status, Ticket
from ticketing.operations.acknowledgement import acknowledgement_context
from ticketing.operations.attachments import IncomingFile
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor
from ticketing.operations.intake import (
    CitizenDetails,
    IntakeRejected,
    IntakeRequest,
    submit_request,
)
from ticketing.operations.tracking import TrackedRequest, tracked_request
from ticketing.web.extensions import db, limiter
from ticketing.web.labels import status_label
from ticketing.web.public_forms import RequestForm, TrackingForm, build_request_form
from ticketing.web.registry import current_commune, registry
from ticketing.web.themes import render_page

bp = Blueprint("public", __name__, url_prefix="/<commune>")

LAST_TICKET_KEY = "last_ticket"
FILE_KINDS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
}
UNIT_LABELS = {
    DayUnit.CALENDAR: _l("jours"),
    DayUnit.WORKING: _l("jours ouvrés"),
    DayUnit.BUSINESS: _l("jours ouvrables"),
}


@bp.context_processor
def _public_helpers() -> dict[str, Any]:
    return {"date_fr": format_date_fr}


@bp.get("/")
def home() -> str:
    ctx = current_commune()
    return render_page("public/home.html", commitments=_commitments(ctx))


@bp.route("/demande", methods=["GET", "POST"])
@limiter.limit(lambda: registry().settings.public_form_limit, methods=["POST"])
def request_form() -> Any:
    ctx = current_commune()
    config = ctx.config
    chosen = (
        request.form.get("category") if request.method == "POST" else request.args.get("categorie")
    )
    form = build_request_form(config.categories.values(), chosen, config.commune.attachments,
                              config.commune.zones)
    if request.method == "GET":
        return _render_request_form(form)
    if form.website.data:
        # A robot filled the hidden field: pretend success, register nothing.
        current_app.logger.info("honeypot filled on %s from %s", request.path, request.remote_addr)
        return _no_store(render_page("public/confirmation.html", ticket=None))
    if not form.validate_on_submit():
        return _render_request_form(form, status=400)
    try:
        ticket = submit_request(
            db.session,
            ctx,
            _intake_request(form),
            Actor.citizen(f"{form.first_name.data} {form.last_name.data}", request.remote_addr),
        )
    except IntakeRejected as exc:
        db.session.rollback()
        target = {"attachments": form.attachments,
                  "zone": getattr(form, "zone", None)}.get(exc.field) or form.category
        target.errors = [*target.errors, str(exc)]
        return _render_request_form(form, status=400)
    db.session.commit()
    session[LAST_TICKET_KEY] = ticket.id
    return redirect(url_for("public.confirmation"), code=303)


@bp.get("/demande/confirmation")
def confirmation() -> Any:
    ctx = current_commune()
    ticket_id = session.get(LAST_TICKET_KEY)
    ticket = _ticket_by(ctx, Ticket.id == ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None:
        return redirect(url_for("public.request_form"))
    return _no_store(
        render_page("public/confirmation.html", **acknowledgement_context(ctx, ticket))
    )


@bp.route("/suivi", methods=["GET", "POST"])
@limiter.limit(
    lambda: registry().settings.tracking_limit, methods=["POST"], key_func=get_remote_address
)
def tracking() -> Any:
    ctx = current_commune()
    form = TrackingForm()
    if request.method == "GET":
        return render_page("public/tracking.html", form=form, miss=False)
    if not form.validate_on_submit():
        return render_page("public/tracking.html", form=form, miss=False), 400
    ticket = _find_for_citizen(ctx, form.code.data, form.verifier.data)
    if ticket is None:
        # One answer for every miss: nothing tells whether the code exists.
        return render_page("public/tracking.html", form=TrackingForm(formdata=None), miss=True)
    tracked = tracked_request(db.session, ticket)
    handled_by = tracked.handled_by
    context = acknowledgement_context(ctx, ticket)
    context["service"] = ctx.config.services[handled_by.service_code]  # who handles it now
    return _no_store(
        render_page(
            "public/status.html",
            handled_by=handled_by,
            merged=tracked.merged,
            thread=tracked.thread,
            status=_tracked_status(tracked),
            format_moment=lambda moment: _format_moment(ctx, moment),
            **context,
        )
    )


@bp.errorhandler(TooManyRequests)
def _too_many_requests(_exc: TooManyRequests) -> tuple[str, int]:
    return _error_page(
        429,
        _("Trop de tentatives"),
        _(
            "Vous avez envoyé trop de demandes en peu de temps. "
            "Patientez quelques minutes avant de réessayer."
        ),
    )


@bp.errorhandler(CSRFError)
def _session_expired(_exc: CSRFError) -> tuple[str, int]:
    return _error_page(
        400,
        _("Session expirée"),
        _(
            "Pour votre sécurité, le formulaire n'a pas été accepté : la page était "
            "ouverte depuis trop longtemps ou les cookies sont désactivés. "
            "Rechargez le formulaire et envoyez-le à nouveau."
        ),
        back_url=request.path,
        back_label=_("Revenir au formulaire"),
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
    return _error_page(
        413,
        _("Fichiers trop volumineux"),
        _(
            "L'ensemble des fichiers joints est trop volumineux. Réduisez leur taille "
            "(par exemple en photographiant en plus basse résolution) puis réessayez."
        ),
        back_url=request.path,
        back_label=_("Revenir au formulaire"),
    )


def _error_page(status: int, title: str, message: str, **links: str) -> tuple[str, int]:
    if g.get("commune") is None:  # no commune in the URL: nothing to brand the page with
        return message, status
    return render_page("public/error.html", title=title, message=message, **links), status


# --- helpers -------------------------------------------------------------------------


def _render_request_form(form: RequestForm, status: int = 200) -> tuple[str, int]:
    ctx = current_commune()
    categories = [c for c in ctx.config.categories.values() if c.public]
    rules = ctx.config.commune.attachments
    return render_page(
        "public/request_form.html",
        form=form,
        categories=categories,
        category=form.selected_category,
        attachments=rules,
        file_kinds=", ".join(FILE_KINDS.get(t, t) for t in rules.allowed_types),
        files_lost=bool(form.is_submitted() and form.uploaded_files()),
    ), status


def _intake_request(form: RequestForm) -> IntakeRequest:
    files = [
        IncomingFile(storage.filename or "", storage.read()) for storage in form.uploaded_files()
    ]
    return IntakeRequest(
        channel=Channel.WEB,
        citizen=CitizenDetails(
            last_name=form.last_name.data,
            first_name=form.first_name.data,
            email=form.email.data or None,
            phone=form.phone.data or None,
        ),
        description=form.description.data,
        received_at=datetime.now(UTC),
        subject=form.subject.data or "",
        category_code=form.category.data,
        location=form.address.data or None,
        zone_code=form.zone_code(),
        extra_fields=form.extra_values(),
        files=files,
    )


def _ticket_by(ctx: CommuneContext, *criteria: Any) -> Ticket | None:
    # The session is already scoped to the commune; the explicit filter is a second lock.
    return db.session.scalars(
        select(Ticket).where(Ticket.commune_id == ctx.commune_id, *criteria).limit(1)
    ).first()


def _find_for_citizen(ctx: CommuneContext, typed_code: str, verifier: str) -> Ticket | None:
    code = normalise_tracking_code(typed_code)
    if code is None:
        return None
    ticket = _ticket_by(ctx, Ticket.tracking_code == code)
    # An anonymised request (RGPD retention) answers like an unknown code.
    if ticket is None or ticket.anonymised_at is not None \
            or not _verifier_matches(ticket.citizen, verifier):
        return None
    return ticket


def _verifier_matches(citizen: Citizen, verifier: str) -> bool:
    """The citizen's e-mail (any case) or family name (any case, accents, spaces, hyphens)."""
    typed = verifier.strip()
    if not typed:
        return False
    if citizen.email and typed.casefold() == citizen.email.strip().casefold():
        return True
    name = _name_key(citizen.last_name or "")
    return bool(name) and _name_key(typed) == name


def _name_key(name: str) -> str:
    return "".join(ch for ch in fold(name) if ch.isalnum())


def _tracked_status(tracked: TrackedRequest) -> str:
    # "En attente de votre réponse" would be wrong when the one awaited is the other citizen.
    if tracked.merged and tracked.handled_by.status == Status.WAITING_CITIZEN:
        return _("En attente d'informations complémentaires")
    return status_label(tracked.handled_by.status)


def _format_moment(ctx: CommuneContext, moment: datetime) -> str:
    local = moment.astimezone(ZoneInfo(ctx.timezone))
    return _(
        "%(day)s à %(hour)s h %(minute)s",
        day=format_date_fr(local.date()),
        hour=local.hour,
        minute=f"{local.minute:02d}",
    )


def _commitments(ctx: CommuneContext) -> list[tuple[str, str]]:
    """The answer delays the commune commits to, rule by rule, as it states them."""
    rules = [*ctx.config.deadlines.rules, ctx.config.deadlines.default]
    return [
        (rule.name, f"{rule.answer.days} {UNIT_LABELS[rule.answer.unit]}")
        for rule in rules
    ]


def _no_store(body: str) -> Response:
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response
