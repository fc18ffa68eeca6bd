"""The one intake use case: every channel turns a request into a ticket through here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ticketing.config.schema import Category, Channel
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
    return submit_requests(session, ctx, [(request, actor)])[0]


def submit_requests(
    session: Session, ctx: CommuneContext, requests: Sequence[tuple[IntakeRequest, Actor]]
) -> list[Ticket]:
    """Register, route, date and acknowledge several requests at once (a mailbox's group of
    mails), in order; the caller commits. The same rules as for one, with one query per kind
    for the whole batch (citizens, numbers, tracking codes) and one flush. A rejected
    request rejects the batch: the caller retries its requests one at a time."""
    checked = [_checked(ctx, request) for request, _ in requests]
    with session.no_autoflush:  # the lookups below never need the pending tickets
        citizens = _citizens_for(session, ctx.commune_id, [request for request, _ in requests])
        numbers = _ticket_numbers(session, ctx, [request for request, _ in requests])
        codes = _unused_tracking_codes(session, ctx.commune_id, len(requests))
    tickets = []
    for (request, actor), (category, content_types), citizen, number, code in zip(
            requests, checked, citizens, numbers, codes, strict=True):
        tickets.append(_new_ticket(session, ctx, request, actor, category, content_types,
                                   citizen, number, code))
    acknowledged = [ticket for ticket, (request, _) in zip(tickets, requests, strict=True)
                    if request.acknowledge]
    if acknowledged:
        session.flush()  # the acknowledgements' signed Message-IDs embed the ticket ids
    for ticket in acknowledged:
        queue_acknowledgement(session, ctx, ticket)
    return tickets


def _checked(ctx: CommuneContext, request: IntakeRequest) -> tuple[Category | None, list[str]]:
    """The request's category and its files' content types, or IntakeRejected."""
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
    if request.forced_service is not None and request.forced_service not in config.services:
        raise IntakeRejected("service", "Service inconnu.")
    return category, content_types


def _new_ticket(
    session: Session, ctx: CommuneContext, request: IntakeRequest, actor: Actor,
    category: Category | None, content_types: list[str], citizen: Citizen, number: str,
    tracking_code: str,
) -> Ticket:
    """The ticket, its first thread entry, its files and its ``ticket.created`` event."""
    config = ctx.config
    subject = request.subject.strip() or _subject_from(request.description, category)
    if request.forced_service is not None:
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
    return ticket


def _ticket_numbers(
    session: Session, ctx: CommuneContext, requests: Sequence[IntakeRequest]
) -> list[str]:
    """One number per request, in order: each year's counter moves once for the batch."""
    years = [local_date(request.received_at, ctx.timezone).year for request in requests]
    next_of: dict[int, int] = {}
    for year, count in sorted(Counter(years).items()):
        next_of[year] = next_sequence(session, ctx.commune_id, year, count=count) - count + 1
    numbers = []
    for year in years:
        numbers.append(format_ticket_number(year, next_of[year]))
        next_of[year] += 1
    return numbers


_CITIZENS_BY_EMAIL = (select(Citizen)
                      .where(Citizen.commune_id == bindparam("commune_id"),
                             Citizen.email.in_(bindparam("emails", expanding=True)))
                      .order_by(Citizen.id))


def _citizens_for(
    session: Session, commune_id: int, requests: Sequence[IntakeRequest]
) -> list[Citizen]:
    """One citizen per request, in order: the one picked by the agent, else the first known
    by the same e-mail in this commune (refreshed with what they gave), else a new one —
    shared by the batch's requests that give the same address."""
    emails = {_email(request.citizen) for request in requests} - {None}
    by_email: dict[str, Citizen] = {}
    if emails:
        for known in session.scalars(_CITIZENS_BY_EMAIL,
                                     {"commune_id": commune_id, "emails": sorted(emails)}):
            by_email.setdefault(known.email or "", known)
    citizens = []
    for request in requests:
        details = request.citizen
        if request.citizen_id is not None:
            citizens.append(_known_citizen(session, commune_id, request.citizen_id))
            continue
        email = _email(details)
        citizen = by_email.get(email) if email else None
        if citizen is None:
            citizen = Citizen(commune_id=commune_id, email=email,
                              last_name=details.last_name.strip())
            session.add(citizen)
            if email:
                by_email[email] = citizen
        citizen.first_name = details.first_name.strip()
        citizen.last_name = details.last_name.strip()
        citizen.phone = (details.phone or "").strip() or citizen.phone
        citizen.address = (details.address or "").strip() or citizen.address
        citizens.append(citizen)
    return citizens


def _email(details: CitizenDetails) -> str | None:
    return details.email.strip().lower() if details.email and details.email.strip() else None


def _known_citizen(session: Session, commune_id: int, citizen_id: int) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or citizen.commune_id != commune_id:
        raise IntakeRejected("citizen", "Usager inconnu.")
    return citizen


# Built once: intake runs for every mail of a large mailbox, statement building adds up.
_CODES_TAKEN = select(Ticket.tracking_code).where(
    Ticket.commune_id == bindparam("commune_id"),
    Ticket.tracking_code.in_(bindparam("codes", expanding=True)))


def _unused_tracking_codes(session: Session, commune_id: int, count: int) -> list[str]:
    """``count`` distinct tracking codes no ticket of the commune has."""
    codes: list[str] = []
    while len(codes) < count:
        fresh = {new_tracking_code() for _ in range(count - len(codes))} - set(codes)
        taken = set(session.scalars(_CODES_TAKEN, {"commune_id": commune_id,
                                                   "codes": sorted(fresh)}))
        codes.extend(code for code in fresh if code not in taken)
    return codes


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
