"""Registering a letter, a phone call or a counter visit on behalf of a citizen.

The agent's entry goes through the one intake use case (routing, deadlines, the
acknowledgement mail when the citizen gave an e-mail address); registration adds the
register number (chrono, per commune and year) and the printable acknowledgement slip,
kept in the ticket's thread. Without an e-mail address, intake sends the acknowledgement
by text message when the commune has an SMS gateway and the phone is a mobile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ticketing.config.schema import Channel
from ticketing.documents.acknowledgement_slip import render_acknowledgement_slip, slip_filename
from ticketing.domain.deadlines import local_date
from ticketing.models import (
    Agent,
    Attachment,
    Citizen,
    EntryKind,
    RegisterCounter,
    RegisterEntry,
    ThreadEntry,
    Ticket,
    utcnow,
)
from ticketing.operations.attachments import IncomingFile, new_public_id, store_bytes
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, change_ticket, record_event
from ticketing.operations.intake import (
    CitizenDetails,
    IntakeRejected,
    IntakeRequest,
    submit_request,
)
from ticketing.operations.numbering import next_sequence

REGISTERED_CHANNELS = (Channel.LETTER, Channel.PHONE, Channel.COUNTER)
CITIZEN_MATCHES = 20


@dataclass
class Registration:
    """What the agent types in; ``citizen_id`` (a citizen on file) or ``citizen`` (new)."""

    channel: Channel
    description: str
    received_at: datetime
    citizen: CitizenDetails | None = None
    citizen_id: int | None = None
    subject: str = ""
    category_code: str | None = None
    sent_on: date | None = None  # date on the letter or postmark
    location: str | None = None
    files: list[IncomingFile] = field(default_factory=list)


def format_register_number(year: int, sequence: int) -> str:
    """``R2026-000123``: the R tells the register's chrono from the ticket number."""
    return f"R{year}-{sequence:06d}"


def date_problem(sent_on: date | None, received_on: date, today: date) -> tuple[str, str] | None:
    """(field, French message) when the dates of a registration cannot be true."""
    if received_on > today:
        return "received_on", "La date de réception ne peut pas être dans le futur."
    if sent_on is not None and sent_on > today:
        return "sent_on", ("La date du courrier ou du cachet de la poste ne peut pas être "
                           "dans le futur.")
    if sent_on is not None and received_on < sent_on:
        return "received_on", "La date de réception ne peut pas précéder la date d'envoi."
    return None


def register_request(
    session: Session, ctx: CommuneContext, registration: Registration, agent: Agent,
    actor: Actor, themes_dir: Path,
) -> RegisterEntry:
    """Create the ticket, give it its register number and store its acknowledgement slip;
    the caller commits. Raises IntakeRejected (with the field at fault)."""
    if registration.channel not in REGISTERED_CHANNELS:
        raise IntakeRejected("channel", "Canal non enregistrable par un agent.")
    now = utcnow()
    today = local_date(now, ctx.timezone)
    if registration.channel is not Channel.LETTER:
        registration.sent_on = None
    problem = date_problem(registration.sent_on,
                           local_date(registration.received_at, ctx.timezone), today)
    if problem is not None:
        raise IntakeRejected(*problem)
    if registration.citizen_id is None and (
            registration.citizen is None or not registration.citizen.last_name.strip()):
        raise IntakeRejected("last_name", "Indiquez le nom de l'usager ou de l'expéditeur.")
    ticket = submit_request(session, ctx, IntakeRequest(
        channel=registration.channel,
        citizen=registration.citizen or CitizenDetails(last_name=""),
        citizen_id=registration.citizen_id,
        description=registration.description,
        received_at=registration.received_at,
        subject=registration.subject,
        category_code=registration.category_code,
        location=registration.location,
        files=registration.files,
        sent_on=registration.sent_on,
    ), actor)
    number = format_register_number(today.year, next_sequence(
        session, ctx.commune_id, today.year, RegisterCounter.__table__))
    entry = RegisterEntry(commune_id=ctx.commune_id, ticket=ticket, number=number,
                          registered_by_id=agent.id, registered_at=now)
    session.add(entry)
    entry.slip = _store_slip(session, ctx, ticket, agent, number, themes_dir, now)
    record_event(session, ctx.commune_id, actor, "ticket.registered", ticket,
                 after={"register_number": number, "channel": registration.channel,
                        "slip": entry.slip.filename})
    if not ticket.citizen.email:  # no mail will go: the slip is the acknowledgement
        change_ticket(session, ticket, actor, "acknowledgement.slip_issued", acknowledged_at=now)
    return entry


def _store_slip(
    session: Session, ctx: CommuneContext, ticket: Ticket, agent: Agent, number: str,
    themes_dir: Path, now: datetime,
) -> Attachment:
    pdf = render_acknowledgement_slip(ctx, ticket, themes_dir, now, register_number=number)
    note = ThreadEntry(
        commune_id=ctx.commune_id, ticket=ticket, kind=EntryKind.NOTE,
        author_agent_id=agent.id, author_signature=agent.full_name, created_at=now,
        body=f"Accusé de réception imprimable produit (chrono {number}) : à remettre à "
             "l'usager ou à lui envoyer par courrier.",
    )
    session.add(note)
    slip = Attachment(
        commune_id=ctx.commune_id, ticket=ticket, entry=note, public_id=new_public_id(),
        filename=slip_filename(ticket), content_type="application/pdf", size=len(pdf),
        sha256=store_bytes(ctx.attachments_dir, pdf),
    )
    session.add(slip)
    return slip


def registration_of(session: Session, ticket: Ticket) -> RegisterEntry | None:
    return session.scalars(
        select(RegisterEntry).where(RegisterEntry.ticket_id == ticket.id)).first()


def find_citizens(session: Session, commune_id: int, text: str) -> list[Citizen]:
    """Citizens of the commune whose name or e-mail contains every word of ``text``, or,
    when ``text`` is a phone number (at least 4 digits, no letter), whose phone contains
    it whatever the separators. For picking one when registering; the full search is
    elsewhere."""
    text = text.strip()
    query = select(Citizen).where(Citizen.commune_id == commune_id)
    digits = "".join(ch for ch in text if ch.isdigit())
    if not any(ch.isalpha() for ch in text) and len(digits) >= 4:
        query = query.where(_phone_digits(Citizen.phone).like(f"%{digits}%"))
    elif text:
        for word in text.split()[:5]:
            pattern = f"%{_escape_like(word)}%"
            query = query.where(or_(Citizen.last_name.ilike(pattern, escape="\\"),
                                    Citizen.first_name.ilike(pattern, escape="\\"),
                                    Citizen.email.ilike(pattern, escape="\\")))
    else:
        return []
    return list(session.scalars(
        query.order_by(Citizen.last_name, Citizen.first_name, Citizen.id).limit(CITIZEN_MATCHES)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _phone_digits(column: ColumnElement[str | None]) -> ColumnElement[str | None]:
    """The phone column without the separators people type (spaces, dots, dashes)."""
    for separator in (" ", ".", "-", "(", ")", "/", "+"):
        column = func.replace(column, separator, "")
    return column
