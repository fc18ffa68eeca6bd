"""The one intake use case: every channel turns a request into a ticket through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ticketing.config.schema import Channel
from ticketing.domain.codes import format_ticket_number, new_tracking_code
from ticketing.domain.deadlines import compute_deadlines, local_date, silence_date
from ticketing.domain.places import place_problem
from ticketing.domain.routing import RoutingDecision, route_ticket
from ticketing.models import Attachment, Citizen, EntryKind, Status, ThreadEntry, Ticket
from ticketing.operations.acknowledgement import queue_acknowledgement
from ticketing.operations.attachments import (
    AttachmentRejected,
    IncomingFile,
    check_files,
    new_public_id,
    safe_filename,
    store_bytes,
)
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event
from ticketing.operations.numbering import next_sequence


class IntakeRejected(ValueError):
    """The request cannot be registered as given; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class CitizenDetails:
    last_name: str
    first_name: str = ""
    email: str | None = None
    phone: str | None = None
    address: str | None = None


@dataclass
class IntakeRequest:
    channel: Channel
    citizen: CitizenDetails
    description: str
    received_at: datetime
    subject: str = ""
    category_code: str | None = None
    location: str | None = None
    extra_fields: dict[str, str] = field(default_factory=dict)
    files: list[IncomingFile] = field(default_factory=list)
    sent_on: date | None = None  # postmark date of a letter
    # Where it happened, for the pilot's sector filter and map (a zone of commune.yaml).
    zone_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    # The channel already knows the service (a mail to urbanisme@): routing rules are skipped.
    forced_service: str | None = None
    acknowledge: bool = True  # False: no acknowledgement (the mail channel's per-sender cap)
    # A citizen already on file, picked by the agent who registers a letter, call or visit.
    citizen_id: int | None = None


def submit_request(
    session: Session, ctx: CommuneContext, request: IntakeRequest, actor: Actor
) -> Ticket:
    """Register, route, date and acknowledge a request; the caller commits."""
    config = ctx.config
    category = None
    if request.category_code is not None:
        category = config.categories.get(request.category_code)
        if category is None:
            raise IntakeRejected("category", "Catégorie inconnue.")
    try:
        content_types = check_files(request.files, config.commune.attachments)
    except AttachmentRejected as exc:
        raise IntakeRejected("attachments", str(exc)) from exc

    _check_place(config.commune, request)
    if request.citizen_id is not None:
        citizen = _known_citizen(session, ctx.commune_id, request.citizen_id)
    else:
        citizen = _find_or_create_citizen(session, ctx.commune_id, request.citizen)
    subject = request.subject.strip() or _subject_from(request.description, category)
    if request.forced_service is not None:
        if request.forced_service not in config.services:
            raise IntakeRejected("service", "Service inconnu.")
        routing = RoutingDecision(request.forced_service, "service de la boîte de réception")
    else:
        routing = route_ticket(
            config.routing_rules, category, config.commune.triage_service,
            request.channel, f"{subject}\n{request.description}",
        )
    deadlines = compute_deadlines(
        config.deadlines, config.calendar, ctx.timezone, request.channel,
        request.category_code, request.received_at, request.sent_on,
        kind=category.kind if category else None,
    )
    year = local_date(request.received_at, ctx.timezone).year
    # Neither query needs the pending citizen: it is inserted with the ticket, one flush.
    with session.no_autoflush:
        number = format_ticket_number(year, next_sequence(session, ctx.commune_id, year))
        tracking_code = _unused_tracking_code(session, ctx.commune_id)
    ticket = Ticket(
        commune_id=ctx.commune_id,
        number=number,
        tracking_code=tracking_code,
        channel=request.channel,
        category_code=request.category_code,
        service_code=routing.service,
        status=Status.NEW,
        priority=routing.priority or "normal",
        subject=subject[:300],
        description=request.description,
        location=request.location,
        zone_code=request.zone_code,
        latitude=request.latitude,
        longitude=request.longitude,
        extra_fields=dict(request.extra_fields),
        citizen=citizen,
        routing_reason=routing.reason,
        deadline_rule=deadlines.rule_name,
        received_at=request.received_at,
        sent_on=request.sent_on,
        ack_due_on=deadlines.acknowledgement_due,
        answer_due_on=deadlines.answer_due,
        decision_due_on=silence_date(local_date(request.received_at, ctx.timezone),
                                     category.silence.months)
        if category is not None and category.silence is not None else None,
    )
    session.add(ticket)
    entry = ThreadEntry(
        commune_id=ctx.commune_id, ticket=ticket, kind=EntryKind.INBOUND,
        subject=ticket.subject, body=request.description, created_at=request.received_at,
    )
    session.add(entry)
    for file, content_type in zip(request.files, content_types, strict=True):
        session.add(Attachment(
            commune_id=ctx.commune_id, ticket=ticket, entry=entry, public_id=new_public_id(),
            filename=safe_filename(file.filename), content_type=content_type,
            size=len(file.data), sha256=store_bytes(ctx.attachments_dir, file.data),
        ))
    record_event(session, ctx.commune_id, actor, "ticket.created", ticket, after={
        "number": ticket.number, "channel": ticket.channel, "category": ticket.category_code,
        "service": ticket.service_code, "routing": routing.reason,
        "answer_due_on": ticket.answer_due_on, "ack_due_on": ticket.ack_due_on,
        "deadline_rule": deadlines.rule_name, "attachments": len(request.files),
    })
    if request.acknowledge:
        queue_acknowledgement(session, ctx, ticket)
    return ticket


_CITIZEN_BY_EMAIL = (select(Citizen)
                     .where(Citizen.commune_id == bindparam("commune_id"),
                            Citizen.email == bindparam("email"))
                     .order_by(Citizen.id).limit(1))


def _find_or_create_citizen(session: Session, commune_id: int, details: CitizenDetails) -> Citizen:
    """Reuse the citizen known by this e-mail in this commune, refreshing what they gave."""
    email = details.email.strip().lower() if details.email else None
    citizen = None
    if email:
        citizen = session.scalars(_CITIZEN_BY_EMAIL,
                                  {"commune_id": commune_id, "email": email}).first()
    if citizen is None:
        citizen = Citizen(commune_id=commune_id, email=email, last_name=details.last_name.strip())
        session.add(citizen)
    citizen.first_name = details.first_name.strip()
    citizen.last_name = details.last_name.strip()
    citizen.phone = (details.phone or "").strip() or citizen.phone
    citizen.address = (details.address or "").strip() or citizen.address
    return citizen


def _known_citizen(session: Session, commune_id: int, citizen_id: int) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or citizen.commune_id != commune_id:
        raise IntakeRejected("citizen", "Usager inconnu.")
    return citizen


# Built once: intake runs for every mail of a large mailbox, statement building adds up.
_CODE_TAKEN = select(Ticket.id).where(Ticket.commune_id == bindparam("commune_id"),
                                      Ticket.tracking_code == bindparam("code"))


def _unused_tracking_code(session: Session, commune_id: int) -> str:
    while True:
        code = new_tracking_code()
        taken = session.scalar(_CODE_TAKEN, {"commune_id": commune_id, "code": code})
        if taken is None:
            return code


def _subject_from(description: str, category) -> str:  # type: ignore[no-untyped-def]
    first_line = description.strip().splitlines()[0] if description.strip() else ""
    if len(first_line) > 80:
        first_line = first_line[:77].rsplit(" ", 1)[0] + "…"
    if category is not None:
        return f"{category.label} : {first_line}" if first_line else category.label
    return first_line or "Demande"


def _check_place(commune, request: IntakeRequest) -> None:  # type: ignore[no-untyped-def]
    problem = place_problem({zone.code for zone in commune.zones}, request.zone_code,
                            request.latitude, request.longitude)
    if problem is not None:
        raise IntakeRejected(*problem)
