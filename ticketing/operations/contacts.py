"""Authorised contacts of a ticket: a spouse, a lawyer, a syndic… who may write on it by mail.

A mail quoting the ticket's tracking code joins the ticket when its sender is the ticket's
citizen or one of these addresses (mail_ingest/decide.py). Agents record and remove them;
both are audited.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.models import Agent, Ticket, TicketContact
from ticketing.operations.events import Actor, record_event

MAX_CONTACTS = 10  # per ticket: a contact list, not a mailing list


class ContactRejected(ValueError):
    """The address cannot be recorded; the message is for the agent."""


def normalise_address(typed: str) -> str:
    """The address as the mail channel compares it (lower-cased), or ContactRejected."""
    try:
        checked = validate_email(typed.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ContactRejected("Adresse électronique invalide.") from exc
    return checked.normalized.lower()


def ticket_contacts(session: Session, ticket: Ticket) -> list[TicketContact]:
    return list(session.scalars(select(TicketContact).where(
        TicketContact.ticket_id == ticket.id).order_by(TicketContact.id)))


def contact_addresses(session: Session, ticket_id: int) -> tuple[str, ...]:
    """The authorised addresses of a ticket, for the mail channel."""
    return tuple(session.scalars(select(TicketContact.email).where(
        TicketContact.ticket_id == ticket_id).order_by(TicketContact.id)))


def add_contact(session: Session, ticket: Ticket, agent: Agent, email: str, actor: Actor,
                name: str = "", role: str = "") -> TicketContact:
    """Record an authorised contact; the caller commits."""
    address = normalise_address(email)
    if ticket.citizen is not None and (ticket.citizen.email or "").lower() == address:
        raise ContactRejected("Cette adresse est déjà celle de l'usager.")
    existing = ticket_contacts(session, ticket)
    if any(contact.email == address for contact in existing):
        raise ContactRejected("Cette adresse est déjà un contact autorisé de la demande.")
    if len(existing) >= MAX_CONTACTS:
        raise ContactRejected(f"{MAX_CONTACTS} contacts autorisés au plus par demande.")
    contact = TicketContact(commune_id=ticket.commune_id, ticket_id=ticket.id, email=address,
                            name=name.strip()[:200], role=role.strip()[:100],
                            added_by_id=agent.id)
    session.add(contact)
    record_event(session, ticket.commune_id, actor, "ticket.contact_added", ticket,
                 after={"email": address, "name": contact.name, "role": contact.role})
    return contact


def remove_contact(session: Session, ticket: Ticket, contact_id: int, actor: Actor) -> bool:
    """Remove one of the ticket's contacts (False if it is not one of them)."""
    contact = session.get(TicketContact, contact_id)
    if contact is None or contact.ticket_id != ticket.id:
        return False
    session.delete(contact)
    record_event(session, ticket.commune_id, actor, "ticket.contact_removed", ticket,
                 before={"email": contact.email, "name": contact.name, "role": contact.role})
    return True
