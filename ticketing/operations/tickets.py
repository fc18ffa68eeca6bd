"""What agents do to a ticket: reply, note, change status, take it, locate it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketing.config import CommuneConfig
from ticketing.domain.deadlines import local_date
from ticketing.domain.places import place_problem
from ticketing.domain.templating import render_text
from ticketing.mail_templates import format_date_fr
from ticketing.models import Agent, EntryKind, InboundMessage, Status, ThreadEntry, Ticket, utcnow
from ticketing.operations.context import CommuneContext
from ticketing.operations.deadlines import sync_clock
from ticketing.operations.events import Actor, change_ticket, record_event
from ticketing.operations.outbox import enqueue_mail

STATUS_AFTER_REPLY = (Status.ANSWERED, Status.WAITING_CITIZEN, Status.IN_PROGRESS, Status.CLOSED)


class LocationRejected(ValueError):
    """The zone or the position cannot be used; ``field`` says which ("zone", "location")."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def agent_signature(ctx: CommuneContext, agent: Agent, service_code: str) -> str:
    """The legal mention (CRPA L111-2): name, title, service and administrative address."""
    service = ctx.config.services[service_code]
    address = service.address or ctx.config.commune.address.one_line()
    parts = [agent.full_name, agent.title, f"{service.name} — {ctx.config.commune.name}", address,
             f"{service.email}" + (f" — {service.phone}" if service.phone else "")]
    return "\n".join(p for p in parts if p)


def reply_context(ctx: CommuneContext, ticket: Ticket, agent: Agent) -> dict[str, object]:
    """Variables offered to reply templates (see templating.sample_context)."""
    from types import SimpleNamespace

    commune = ctx.config.commune
    service = ctx.config.services[ticket.service_code]
    category = ctx.config.categories.get(ticket.category_code or "")
    citizen = ticket.citizen
    return {
        "citizen": SimpleNamespace(
            first_name=citizen.first_name, last_name=citizen.last_name,
            full_name=citizen.full_name, email=citizen.email or "", phone=citizen.phone or "",
            address=citizen.address or ""),
        "ticket": SimpleNamespace(
            number=ticket.number, tracking_code=ticket.tracking_code, subject=ticket.subject,
            received_on=local_date(ticket.received_at, ctx.timezone),
            answer_due=ticket.answer_due_on, category=category.label if category else "",
            channel=ticket.channel),
        "service": SimpleNamespace(name=service.name, email=service.email,
                                   phone=service.phone or commune.phone,
                                   address=service.address or commune.address.one_line()),
        "agent": SimpleNamespace(full_name=agent.full_name, title=agent.title,
                                 service=service.name),
        "commune": SimpleNamespace(name=commune.name, phone=commune.phone, email=commune.email,
                                   address=commune.address.one_line(), mayor=commune.mayor.name),
        "today": local_date(utcnow(), ctx.timezone),
    }


def render_reply_template(
    ctx: CommuneContext, ticket: Ticket, agent: Agent, template_code: str
) -> tuple[str, str]:
    template = ctx.config.templates[template_code]
    variables = reply_context(ctx, ticket, agent)
    return render_text(template.subject, variables), render_text(template.body, variables)


def reply_to_citizen(
    session: Session, ctx: CommuneContext, ticket: Ticket, agent: Agent, body: str,
    actor: Actor, subject: str = "", new_status: Status = Status.ANSWERED,
) -> ThreadEntry:
    """Add a public reply, mail it to the citizen if possible, and move the ticket on."""
    if new_status not in STATUS_AFTER_REPLY:
        raise ValueError(f"status {new_status} cannot follow a reply")
    signature = agent_signature(ctx, agent, ticket.service_code)
    # One line: a line break typed in the subject must never become a mail header.
    subject = " ".join(subject.split()) or f"Réponse à votre demande n° {ticket.number}"
    entry = ThreadEntry(
        commune_id=ticket.commune_id, ticket=ticket, kind=EntryKind.REPLY,
        author_agent_id=agent.id, author_signature=signature, subject=subject[:300],
        body=body.strip(),
    )
    session.add(entry)
    record_event(session, ticket.commune_id, actor, "ticket.replied", ticket,
                 after={"subject": entry.subject, "length": len(entry.body)})
    now = utcnow()
    changes: dict[str, object] = {"status": new_status}
    if ticket.first_answer_at is None:
        changes["first_answer_at"] = now
    if new_status == Status.CLOSED:
        changes["closed_at"] = now
    change_ticket(session, ticket, actor, "ticket.status_changed", **changes)
    sync_clock(session, ticket, actor, ctx.config)  # waiting for the citizen stops the clock
    if ticket.citizen.email:
        mail_body = ctx.mail_templates.render(
            "reply.txt", ticket=ticket, body=entry.body, signature=signature,
            tracking_url=ctx.tracking_url(), commune=ctx.config.commune,
            answer_due=format_date_fr(ticket.answer_due_on),
        )
        enqueue_mail(session, ticket.commune_id, "reply", ticket.citizen.email,
                     f"[{ticket.tracking_code}] {subject}", mail_body, ticket=ticket,
                     reply_to=ctx.config.services[ticket.service_code].email,
                     headers=thread_headers(session, ticket),
                     signing_key=ctx.signing_key, domain=ctx.mail_domain)
    return entry


def thread_headers(session: Session, ticket: Ticket) -> dict[str, str]:
    """In-Reply-To and References naming the citizen's latest mail about ``ticket``, so the
    reply lands in the citizen's own thread (our signed Message-ID finds the way back)."""
    if not ticket.citizen.email:
        return {}
    latest = session.scalars(
        select(InboundMessage.message_id)
        .where(InboundMessage.ticket_id == ticket.id, InboundMessage.message_id != "",
               func.lower(InboundMessage.from_address) == ticket.citizen.email.lower())
        .order_by(InboundMessage.id.desc()).limit(1)).first()
    if not latest:
        return {}
    return {"In-Reply-To": f"<{latest}>", "References": f"<{latest}>"}


def add_note(
    session: Session, ticket: Ticket, agent: Agent | None, body: str, actor: Actor,
    signature: str | None = None,
) -> ThreadEntry:
    """An internal note, never shown to the citizen: by ``agent``, or by the system (the
    mail channel) signing with ``signature``."""
    entry = ThreadEntry(commune_id=ticket.commune_id, ticket=ticket, kind=EntryKind.NOTE,
                        author_agent_id=agent.id if agent else None,
                        author_signature=signature or (agent.full_name if agent else actor.label),
                        body=body.strip())
    session.add(entry)
    record_event(session, ticket.commune_id, actor, "ticket.noted", ticket,
                 after={"length": len(entry.body)})
    return entry


def set_status(
    session: Session, ticket: Ticket, status: Status, actor: Actor, config: CommuneConfig
) -> None:
    changes: dict[str, object] = {"status": status}
    if status == Status.CLOSED:
        changes["closed_at"] = utcnow()
    elif ticket.closed_at is not None:
        changes["closed_at"] = None
    change_ticket(session, ticket, actor, "ticket.status_changed", **changes)
    sync_clock(session, ticket, actor, config)  # waiting for the citizen stops the clock


def assign(session: Session, ticket: Ticket, agent: Agent | None, actor: Actor) -> None:
    changes: dict[str, object] = {"assignee_id": agent.id if agent else None}
    if agent is not None and ticket.status == Status.NEW:
        changes["status"] = Status.IN_PROGRESS
    change_ticket(session, ticket, actor, "ticket.assigned", **changes)


def set_location(
    session: Session, ctx: CommuneContext, ticket: Ticket, zone_code: str | None,
    latitude: float | None, longitude: float | None, actor: Actor,
) -> None:
    """Set where the request is: a zone of commune.yaml and a point (None clears either)."""
    problem = place_problem({z.code for z in ctx.config.commune.zones}, zone_code, latitude,
                            longitude)
    if problem is not None:
        raise LocationRejected(*problem)
    change_ticket(session, ticket, actor, "ticket.located", zone_code=zone_code,
                  latitude=latitude, longitude=longitude)
