"""A citizen's page: every request of theirs the agent may view, and what happened to them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from ticketing.models import AuditEvent, Citizen, Ticket
from ticketing.search.service import visible_tickets

TICKETS_SHOWN = 200
EVENTS_SHOWN = 100


@dataclass(frozen=True)
class CitizenFile:
    citizen: Citizen
    tickets: list[Ticket]  # newest first
    events: list[AuditEvent]  # newest first, across those tickets


def citizen_file(
    session: Session, commune_id: int, citizen_id: int, services: Collection[str]
) -> CitizenFile | None:
    """None when the citizen does not exist or has no request the agent may view."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or citizen.commune_id != commune_id or not services:
        return None
    tickets = list(session.scalars(
        select(Ticket)
        .where(Ticket.citizen_id == citizen_id, visible_tickets(session, commune_id, services))
        .options(lazyload(Ticket.citizen))
        .order_by(Ticket.received_at.desc(), Ticket.id.desc())
        .limit(TICKETS_SHOWN)
    ))
    if not tickets:
        return None
    events = list(session.scalars(
        select(AuditEvent)
        .where(AuditEvent.ticket_id.in_([t.id for t in tickets]))
        .order_by(AuditEvent.id.desc())
        .limit(EVENTS_SHOWN)
    ))
    return CitizenFile(citizen, tickets, events)
