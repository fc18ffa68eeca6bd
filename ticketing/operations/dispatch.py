"""Dispatch and collaboration: qualify, dispatch, split, assign, transfer, copy for
information, forward to another administration, reopen, mention colleagues, and who is
looking at a ticket. Every change of a ticket is audited; the caller commits."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketing.domain.deadlines import local_date
from ticketing.domain.rights import Grant, permissions_on
from ticketing.domain.text import without_accents
from ticketing.models import (
    Agent,
    AuditEvent,
    Forwarding,
    Notification,
    Status,
    ThreadEntry,
    Ticket,
    TicketCopy,
    TicketSplit,
    TicketViewing,
    utcnow,
)
from ticketing.operations.context import CommuneContext
from ticketing.operations.deadlines import sync_clock
from ticketing.operations.events import Actor, change_ticket, record_event
from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
from ticketing.operations.outbox import enqueue_mail
from ticketing.operations.tickets import add_note, assign

VIEWING_WINDOW = timedelta(minutes=5)  # "X consulte aussi cette demande" for this long
MENTION = re.compile(r"(?<![\w.@])@([a-z0-9][a-z0-9._-]*[a-z0-9])", re.IGNORECASE)


class DispatchRejected(ValueError):
    """The action cannot be done as asked; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _with_detail(event: AuditEvent | None, **detail: object) -> None:
    """Add what the changed fields alone do not say (a reason…) to a fresh audit event."""
    if event is not None:
        event.after = {**event.after, **detail}


# --- qualify, dispatch, transfer -------------------------------------------------------


def qualify(
    session: Session, ctx: CommuneContext, ticket: Ticket, category_code: str | None,
    actor: Actor,
) -> None:
    """Set the ticket's category (None: not qualified)."""
    if category_code is not None and category_code not in ctx.config.categories:
        raise DispatchRejected("category", "Catégorie inconnue.")
    change_ticket(session, ticket, actor, "ticket.qualified", category_code=category_code)


def transfer(
    session: Session, ctx: CommuneContext, ticket: Ticket, service_code: str, reason: str,
    actor: Actor, action: str = "ticket.transferred", notify: bool = True,
) -> None:
    """Move the ticket to another service's queue: it leaves the first queue, nobody holds
    it any more, and the history keeps both services and the reason. With ``notify`` the
    receiving service gets a mail at its address, since nobody there holds the ticket."""
    reason = reason.strip()
    if service_code not in ctx.config.services:
        raise DispatchRejected("service", "Service inconnu.")
    if service_code == ticket.service_code:
        raise DispatchRejected("service", "La demande est déjà dans la file de ce service.")
    if not reason:
        raise DispatchRejected("reason", "Indiquez le motif du transfert.")
    previous = ticket.service_code
    changes: dict[str, object] = {"service_code": service_code, "assignee_id": None}
    if ticket.status == Status.IN_PROGRESS:
        changes["status"] = Status.NEW  # to be taken again in the new service
    event = change_ticket(session, ticket, actor, action, **changes)
    detail: dict[str, object] = {"reason": reason[:1000]}
    if notify:  # the history says where the notice went
        detail["notified"] = _tell_receiving_service(session, ctx, ticket, previous, reason,
                                                     actor)
    _with_detail(event, **detail)
    for copy in session.scalars(select(TicketCopy).where(
            TicketCopy.ticket_id == ticket.id, TicketCopy.service_code == service_code)):
        session.delete(copy)  # the service now owns the ticket: no more a mere copy


def _tell_receiving_service(
    session: Session, ctx: CommuneContext, ticket: Ticket, previous: str, reason: str,
    actor: Actor,
) -> str:
    """Queue the transfer notice to the ticket's (new) service; returns its address."""
    services = ctx.config.services
    service = services[ticket.service_code]
    origin = services[previous].name if previous in services else previous
    enqueue_mail(session, ticket.commune_id, "transfer_notice", service.email,
                 f"Demande n° {ticket.number} transférée à votre service par « {origin} »",
                 ctx.mail_templates.render(
                     "transfer_notice.txt", ticket=ticket, service=service, origin=origin,
                     reason=reason, actor=actor.label, commune=ctx.config.commune,
                     ticket_url=agent_url(ctx, ticket.number)),
                 ticket=ticket)
    return service.email


def dispatch(
    session: Session, ctx: CommuneContext, ticket: Ticket, service_code: str,
    category_code: str | None, actor: Actor, reason: str = "",
) -> None:
    """Triage: qualify the ticket (when a category is given) and send it to a service."""
    if category_code:
        qualify(session, ctx, ticket, category_code, actor)
    if service_code == ticket.service_code:
        return
    # Routing, like intake's, which tells no service either: the ticket joins its queue.
    transfer(session, ctx, ticket, service_code, reason or "Orientation après tri", actor,
             action="ticket.dispatched", notify=False)


# --- assign ----------------------------------------------------------------------------


def _grants(agent: Agent) -> list[Grant]:
    return [Grant(m.service_code, m.role_code) for m in agent.memberships]


def can_open(ctx: CommuneContext, agent: Agent, ticket: Ticket, copied_to: Collection[str]) -> bool:
    return agent.active and "view" in permissions_on(
        _grants(agent), ctx.config.roles, ticket.service_code, copied_to)


def assignable_agents(session: Session, ctx: CommuneContext, ticket: Ticket) -> list[Agent]:
    """The active agents of the ticket's service who may work it (answer the citizen)."""
    agents = session.scalars(
        select(Agent).where(Agent.commune_id == ctx.commune_id, Agent.active.is_(True))
        .order_by(Agent.full_name)
    ).all()
    return [a for a in agents
            if any(m.service_code == ticket.service_code for m in a.memberships)
            and "reply" in permissions_on(_grants(a), ctx.config.roles, ticket.service_code)]


def assign_to(
    session: Session, ctx: CommuneContext, ticket: Ticket, agent_id: int | None, actor: Actor
) -> Agent | None:
    """Assign (or reassign, or release with None) the ticket to an agent of its service."""
    if agent_id is None:
        assign(session, ticket, None, actor)
        return None
    agent = next((a for a in assignable_agents(session, ctx, ticket) if a.id == agent_id), None)
    if agent is None:
        raise DispatchRejected("agent", "Cet agent ne peut pas traiter les demandes de ce service.")
    assign(session, ticket, agent, actor)
    return agent


# --- copies for information ------------------------------------------------------------


def copy_to(
    session: Session, ctx: CommuneContext, ticket: Ticket, services: Iterable[str],
    actor: Actor,
) -> list[str]:
    """Copy the ticket for information to ``services``; returns those newly copied."""
    wanted = list(dict.fromkeys(services))
    unknown = [s for s in wanted if s not in ctx.config.services]
    if unknown or not wanted:
        raise DispatchRejected("services", "Choisissez un ou plusieurs services de la commune.")
    already = set(session.scalars(
        select(TicketCopy.service_code).where(TicketCopy.ticket_id == ticket.id)))
    added = [s for s in wanted if s != ticket.service_code and s not in already]
    for service in added:
        session.add(TicketCopy(commune_id=ticket.commune_id, ticket_id=ticket.id,
                               service_code=service, created_by_agent_id=actor.agent_id))
    if added:
        record_event(session, ticket.commune_id, actor, "ticket.copied", ticket,
                     after={"services": added})
    return added


def remove_copy(session: Session, ticket: Ticket, service: str, actor: Actor) -> bool:
    copy = session.scalars(select(TicketCopy).where(
        TicketCopy.ticket_id == ticket.id, TicketCopy.service_code == service)).first()
    if copy is None:
        return False
    session.delete(copy)
    record_event(session, ticket.commune_id, actor, "ticket.copy_removed", ticket,
                 before={"services": [service]})
    return True


# --- forward to another administration -------------------------------------------------


@dataclass(frozen=True)
class Administration:
    name: str
    address: str = ""
    email: str = ""


def forward(
    session: Session, ctx: CommuneContext, ticket: Ticket, administration: Administration,
    reason: str, actor: Actor,
) -> Forwarding:
    """The commune is not competent (CRPA L114-2): record where the request went, tell the
    citizen, send the request to the administration when it has an address, close here."""
    if not administration.name.strip():
        raise DispatchRejected("administration", "Indiquez l'administration compétente.")
    if not ticket.is_open and ticket.status != Status.ANSWERED:
        raise DispatchRejected("administration", "Cette demande est déjà close.")
    forwarding = Forwarding(
        commune_id=ticket.commune_id, ticket_id=ticket.id,
        administration=administration.name.strip()[:200],
        address=administration.address.strip()[:300], email=administration.email.strip()[:254],
        reason=reason.strip(), agent_id=actor.agent_id)
    session.add(forwarding)
    event = change_ticket(session, ticket, actor, "ticket.forwarded", status=Status.CLOSED,
                          closed_at=utcnow(), assignee_id=None)
    _with_detail(event, administration=forwarding.administration, reason=forwarding.reason)
    sync_clock(session, ticket, actor, ctx.config)
    service = ctx.config.services[ticket.service_code]
    variables = {"ticket": ticket, "citizen": ticket.citizen, "forwarding": forwarding,
                 "commune": ctx.config.commune, "service": service,
                 "tracking_url": ctx.tracking_url(),
                 "received_on": local_date(ticket.received_at, ctx.timezone)}
    if ticket.citizen.email:
        enqueue_mail(session, ticket.commune_id, "forwarded_notice", ticket.citizen.email,
                     f"[{ticket.tracking_code}] Votre demande n° {ticket.number} a été "
                     "transmise à l'administration compétente",
                     ctx.mail_templates.render("forwarded_notice.txt", **variables),
                     ticket=ticket, reply_to=service.email, signing_key=ctx.signing_key,
                     domain=ctx.mail_domain)
    if forwarding.email:
        enqueue_mail(session, ticket.commune_id, "forwarded_request", forwarding.email,
                     f"Transmission d'une demande (article L114-2 du CRPA) : {ticket.subject}",
                     ctx.mail_templates.render("forwarded_request.txt", **variables),
                     ticket=ticket, reply_to=service.email)
    return forwarding


# --- split -----------------------------------------------------------------------------


def split(
    session: Session, ctx: CommuneContext, ticket: Ticket, subject: str, description: str,
    category_code: str | None, service_code: str | None, actor: Actor,
) -> Ticket:
    """Make part of a request a ticket of its own, through the intake use case (same
    routing and deadline rules, same received date, same citizen), linked to the first."""
    if not description.strip():
        raise DispatchRejected("description", "Décrivez la partie de la demande à séparer.")
    if service_code and service_code not in ctx.config.services:
        raise DispatchRejected("service", "Service inconnu.")
    citizen = ticket.citizen
    part = submit_request(session, ctx, IntakeRequest(
        channel=ticket.channel,  # type: ignore[arg-type]
        citizen=CitizenDetails(last_name=citizen.last_name, first_name=citizen.first_name,
                               email=citizen.email, phone=citizen.phone,
                               address=citizen.address),
        description=description.strip(), subject=subject.strip(),
        received_at=ticket.received_at, sent_on=ticket.sent_on,
        category_code=category_code or None, forced_service=service_code or None,
        location=ticket.location, zone_code=ticket.zone_code,
    ), actor)
    if part.citizen is not citizen:  # no e-mail to find them by: keep the very same person
        stray = part.citizen
        part.citizen = citizen
        session.flush()
        session.delete(stray)
    session.add(TicketSplit(commune_id=ticket.commune_id, source_ticket_id=ticket.id,
                            part_ticket_id=part.id))
    record_event(session, ticket.commune_id, actor, "ticket.split", ticket,
                 after={"part": part.number, "service": part.service_code})
    record_event(session, ticket.commune_id, actor, "ticket.split_from", part,
                 after={"source": ticket.number})
    return part


def split_links(session: Session, ticket: Ticket) -> tuple[Ticket | None, list[Ticket]]:
    """The ticket this one was split from, and the parts split from this one."""
    source = session.scalars(select(Ticket).join(
        TicketSplit, TicketSplit.source_ticket_id == Ticket.id).where(
        TicketSplit.part_ticket_id == ticket.id)).first()
    parts = list(session.scalars(select(Ticket).join(
        TicketSplit, TicketSplit.part_ticket_id == Ticket.id).where(
        TicketSplit.source_ticket_id == ticket.id).order_by(Ticket.id)))
    return source, parts


# --- reopen ----------------------------------------------------------------------------


def reopen(
    session: Session, ctx: CommuneContext, ticket: Ticket, reason: str, actor: Actor
) -> None:
    """Take a closed ticket up again. The answer date stays (a late ticket shows late);
    the event is a status change from "closed", which the pilot's reopen rate counts."""
    if ticket.status != Status.CLOSED:
        raise DispatchRejected("reason", "Seule une demande clôturée peut être rouverte.")
    if not reason.strip():
        raise DispatchRejected("reason", "Indiquez pourquoi la demande est rouverte.")
    event = change_ticket(session, ticket, actor, "ticket.status_changed",
                          status=Status.IN_PROGRESS, closed_at=None)
    _with_detail(event, reopened=True, reason=reason.strip()[:1000])
    sync_clock(session, ticket, actor, ctx.config)


# --- notes with mentions ---------------------------------------------------------------


def _plain(text: str) -> str:
    return without_accents(text).lower()


def handle_of(agent: Agent) -> str:
    """``@prenom.nom``: how a colleague is mentioned in a note."""
    return re.sub(r"[^a-z0-9]+", ".", _plain(agent.full_name)).strip(".")


def mentioned_in(body: str, agents: Iterable[Agent]) -> list[Agent]:
    """The agents a note mentions, by ``@prenom.nom`` or by the start of their e-mail."""
    handles = {h.lower() for h in MENTION.findall(body)}
    return [a for a in agents
            if handle_of(a) in handles or a.email.partition("@")[0].lower() in handles]


@dataclass
class NoteOutcome:
    entry: ThreadEntry
    notified: list[Agent]
    not_allowed: list[Agent]  # mentioned, but they cannot open the ticket: not told


def note_with_mentions(
    session: Session, ctx: CommuneContext, ticket: Ticket, author: Agent, body: str,
    picked_ids: Collection[int], copied_to: Collection[str], actor: Actor,
) -> NoteOutcome:
    """An internal note that tells the colleagues it mentions (see ``notify_mentions``)."""
    entry = add_note(session, ticket, author, body, actor)
    return notify_mentions(session, ctx, ticket, author, entry, picked_ids, copied_to, actor)


def notify_mentions(
    session: Session, ctx: CommuneContext, ticket: Ticket, author: Agent, entry: ThreadEntry,
    picked_ids: Collection[int], copied_to: Collection[str], actor: Actor,
) -> NoteOutcome:
    """The colleagues a note mentions (``@prenom.nom`` or picked) who may open the ticket
    get a notification and a mail; nobody hears of a ticket they cannot open."""
    colleagues = session.scalars(
        select(Agent).where(Agent.commune_id == ctx.commune_id, Agent.active.is_(True))
        .order_by(Agent.full_name)).all()
    wanted = {a.id: a for a in mentioned_in(entry.body, colleagues)}
    wanted.update({a.id: a for a in colleagues if a.id in picked_ids})
    wanted.pop(author.id, None)
    session.flush()
    notified, not_allowed = [], []
    for agent in wanted.values():
        if not can_open(ctx, agent, ticket, copied_to):
            not_allowed.append(agent)
            continue
        session.add(Notification(commune_id=ticket.commune_id, ticket_id=ticket.id,
                                 ticket_key=str(ticket.id), kind="mention",
                                 recipient=agent.email.lower(), period_key=f"note-{entry.id}"))
        enqueue_mail(session, ticket.commune_id, "mention", agent.email,
                     f"{author.full_name} vous mentionne : demande n° {ticket.number}",
                     ctx.mail_templates.render(
                         "mention.txt", ticket=ticket, author=author, recipient=agent,
                         body=entry.body, commune=ctx.config.commune,
                         ticket_url=agent_url(ctx, ticket.number)))
        notified.append(agent)
    if notified:
        record_event(session, ticket.commune_id, actor, "ticket.mentioned", ticket,
                     after={"agents": [a.full_name for a in notified]})
    return NoteOutcome(entry, notified, not_allowed)


def agent_url(ctx: CommuneContext, number: str) -> str:
    return f"{ctx.config.commune.public_url.rstrip('/')}/{ctx.config.slug}/agent/tickets/{number}"


def mention_candidates(
    session: Session, ctx: CommuneContext, ticket: Ticket, copied_to: Collection[str],
    author_id: int,
) -> list[Agent]:
    """The colleagues who may open the ticket, for the mention picker."""
    agents = session.scalars(
        select(Agent).where(Agent.commune_id == ctx.commune_id, Agent.active.is_(True))
        .order_by(Agent.full_name)).all()
    return [a for a in agents if a.id != author_id and can_open(ctx, a, ticket, copied_to)]


# --- who is looking at the ticket (collision warning) ----------------------------------


def record_viewing(session: Session, ticket: Ticket, agent: Agent,
                   now: datetime | None = None) -> None:
    """Note that ``agent`` has the ticket open (presence only: no change of the ticket)."""
    now = now or utcnow()
    viewing = session.scalars(select(TicketViewing).where(
        TicketViewing.ticket_id == ticket.id, TicketViewing.agent_id == agent.id)).first()
    if viewing is not None:
        viewing.seen_at = now
        return
    try:
        with session.begin_nested():  # the same agent's other tab may have just written it
            session.add(TicketViewing(commune_id=ticket.commune_id, ticket_id=ticket.id,
                                      agent_id=agent.id, seen_at=now))
    except IntegrityError:
        pass


def other_viewers(session: Session, ticket: Ticket, agent_id: int,
                  now: datetime | None = None) -> list[Agent]:
    """The other agents who had the ticket open in the last few minutes."""
    since = (now or utcnow()) - VIEWING_WINDOW
    return list(session.scalars(
        select(Agent).join(TicketViewing, TicketViewing.agent_id == Agent.id)
        .where(TicketViewing.ticket_id == ticket.id, TicketViewing.agent_id != agent_id,
               TicketViewing.seen_at >= since)
        .order_by(Agent.full_name)))
