"""Giving an agent access from the server's command line (``aiguillage agent invite``): how a
new install gets its first administrator, before anyone can use the admin pages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ticketing.models import Agent
from ticketing.operations.accounts import create_agent, find_agent, send_password_link
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor
from ticketing.operations.staff import EMAIL_PATTERN, StaffChangeRefused, grant_role

COMMAND_ACTOR = Actor.system("administrateur (commande)")


@dataclass(frozen=True)
class Invitation:
    agent: Agent
    created: bool
    granted: tuple[str, str] | None  # (service, role) newly granted
    link: str  # the single-use link also queued by mail


def invite_from_command(session: Session, ctx: CommuneContext, email: str, *,
                        full_name: str = "", role: str | None = None,
                        service: str | None = None) -> Invitation:
    """Create the agent if needed, grant ``role`` in ``service`` (default: the commune's
    triage service) unless held, and mail a 3-day link to choose a password, which
    cancels earlier links. Every step is audited as done by the command.
    StaffChangeRefused (French message) on a bad address, name, service or role."""
    email = email.strip().lower()
    agent = find_agent(session, ctx.commune_id, email)
    created = agent is None
    if agent is None:
        if not EMAIL_PATTERN.match(email):
            raise StaffChangeRefused("Adresse électronique invalide.")
        if not full_name.strip():
            raise StaffChangeRefused("Indiquez le nom de l'agent (--name).")
        unusable = "!" + secrets.token_hex(16)  # not an Argon2 hash: no password matches it
        agent = create_agent(session, ctx.commune_id, email, full_name.strip(), "",
                             COMMAND_ACTOR, password_hash=unusable)
    elif not agent.active:
        raise StaffChangeRefused(f"Le compte {email} est désactivé : réactivez-le d'abord.")
    granted = None
    if role is not None:
        service = service or ctx.config.commune.triage_service
        if not any(m.service_code == service and m.role_code == role
                   for m in agent.memberships):
            grant_role(session, ctx, COMMAND_ACTOR, agent, service, role)
            granted = (service, role)
    link = send_password_link(session, ctx, agent, purpose="invitation", actor=COMMAND_ACTOR)
    return Invitation(agent, created, granted, link)
