"""Administration of agents: accounts, their roles per service, deactivation. All audited.

Agents are data, managed by holders of ``manage_users``. Rules:
- services and roles come from the commune's YAML; anything else is refused;
- an administrator may not change their own roles: a role giving them ticket access must
  be granted by another administrator (and every grant is audited with who did it);
- the last active holder of ``manage_users`` can neither lose it nor be deactivated.
A deactivated agent's sessions end at once (the sign-in loader refuses inactive agents) and
for good: the session epoch is raised, so a reactivated agent signs in again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.domain.rights import Grant, permissions_on
from ticketing.models import Agent, Membership
from ticketing.operations.accounts import (
    create_agent,
    disable_totp,
    find_agent,
    send_password_link,
)
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event

MANAGE_USERS = "manage_users"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffChangeRefused(ValueError):
    """The change breaks a rule; the message is French, for the administrator."""


def holds_permission(ctx: CommuneContext, grants: Iterable[Grant], permission: str) -> bool:
    """Whether ``grants`` give ``permission`` on at least one of the commune's services."""
    grants = list(grants)
    return any(permission in permissions_on(grants, ctx.config.roles, code)
               for code in ctx.config.services)


def _grants(agent: Agent, without: Membership | None = None) -> list[Grant]:
    return [Grant(m.service_code, m.role_code) for m in agent.memberships if m is not without]


def _check_last_manager(session: Session, ctx: CommuneContext, agent: Agent,
                        remaining: list[Grant]) -> None:
    """Refuse if ``agent`` is the last active manager and would keep only ``remaining``."""
    if not agent.active or not holds_permission(ctx, _grants(agent), MANAGE_USERS):
        return
    if holds_permission(ctx, remaining, MANAGE_USERS):
        return
    others = session.scalars(select(Agent).where(
        Agent.commune_id == ctx.commune_id, Agent.active.is_(True), Agent.id != agent.id)).all()
    if not any(holds_permission(ctx, _grants(other), MANAGE_USERS) for other in others):
        raise StaffChangeRefused(
            "C'est le dernier compte actif autorisé à gérer les agents : "
            "donnez d'abord ce droit à un autre agent.")


def _check_membership(ctx: CommuneContext, service_code: str, role_code: str) -> None:
    if service_code not in ctx.config.services:
        raise StaffChangeRefused(f"Service inconnu : « {service_code} » (voir services.yaml).")
    if role_code not in ctx.config.roles:
        raise StaffChangeRefused(f"Rôle inconnu : « {role_code} » (voir roles.yaml).")


def _described(agent: Agent) -> dict[str, object]:
    return {"agent_id": agent.id, "email": agent.email}


def invite_agent(session: Session, ctx: CommuneContext, actor: Actor, agent: Agent,
                 base_url: str | None = None) -> None:
    """Mail the agent a link to choose a password (a new agent has no usable one)."""
    send_password_link(session, ctx, agent, purpose="invitation", base_url=base_url,
                       actor=actor)


def add_agent(session: Session, ctx: CommuneContext, actor: Actor, *, email: str,
              full_name: str, title: str = "",
              memberships: Iterable[tuple[str, str]] = (),
              base_url: str | None = None) -> Agent:
    """Create an agent without a usable password and mail them an invitation link."""
    email = email.strip().lower()
    full_name = full_name.strip()
    if not EMAIL_PATTERN.match(email):
        raise StaffChangeRefused("Adresse électronique invalide.")
    if not full_name:
        raise StaffChangeRefused("Indiquez le nom de l'agent.")
    if find_agent(session, ctx.commune_id, email) is not None:
        raise StaffChangeRefused(f"Un agent a déjà l'adresse {email}.")
    pairs = list(dict.fromkeys(memberships))
    for service_code, role_code in pairs:
        _check_membership(ctx, service_code, role_code)
    unusable = "!" + secrets.token_hex(16)  # not an Argon2 hash: no password matches it
    agent = create_agent(session, ctx.commune_id, email, full_name, "", actor, title=title.strip(),
                         memberships=pairs, password_hash=unusable)
    invite_agent(session, ctx, actor, agent, base_url)
    return agent


def update_identity(session: Session, ctx: CommuneContext, actor: Actor, agent: Agent, *,
                    full_name: str, title: str) -> None:
    full_name, title = full_name.strip(), title.strip()
    if not full_name:
        raise StaffChangeRefused("Indiquez le nom de l'agent.")
    before = {"full_name": agent.full_name, "title": agent.title}
    after = {"full_name": full_name, "title": title}
    if before == after:
        return
    agent.full_name, agent.title = full_name, title
    record_event(session, ctx.commune_id, actor, "agent.updated",
                 before=before, after={**_described(agent), **after})


def _refuse_own_roles(actor: Actor, agent: Agent) -> None:
    if actor.agent_id == agent.id:
        raise StaffChangeRefused(
            "Vous ne pouvez pas modifier vos propres rôles : demandez-le à un autre "
            "administrateur.")


def grant_role(session: Session, ctx: CommuneContext, actor: Actor, agent: Agent,
               service_code: str, role_code: str) -> Membership:
    _refuse_own_roles(actor, agent)
    _check_membership(ctx, service_code, role_code)
    if any(m.service_code == service_code and m.role_code == role_code
           for m in agent.memberships):
        raise StaffChangeRefused("L'agent a déjà ce rôle dans ce service.")
    membership = Membership(commune_id=ctx.commune_id, service_code=service_code,
                            role_code=role_code)
    agent.memberships.append(membership)
    record_event(session, ctx.commune_id, actor, "agent.role_granted", after={
        **_described(agent), "service": service_code, "role": role_code,
        "ticket_access": "view" in ctx.config.roles[role_code].permissions})
    return membership


def revoke_role(session: Session, ctx: CommuneContext, actor: Actor, agent: Agent,
                membership: Membership) -> None:
    if membership.agent_id != agent.id:
        raise StaffChangeRefused("Ce rôle n'appartient pas à cet agent.")
    _refuse_own_roles(actor, agent)
    _check_last_manager(session, ctx, agent, _grants(agent, without=membership))
    agent.memberships.remove(membership)
    record_event(session, ctx.commune_id, actor, "agent.role_revoked", before={
        **_described(agent), "service": membership.service_code, "role": membership.role_code})


def deactivate(session: Session, ctx: CommuneContext, actor: Actor, agent: Agent) -> None:
    """Deactivate ``agent``: no sign-in, and their open sessions end at the next request."""
    if not agent.active:
        return
    if actor.agent_id == agent.id:
        raise StaffChangeRefused("Vous ne pouvez pas désactiver votre propre compte.")
    _check_last_manager(session, ctx, agent, [])
    agent.active = False
    agent.session_epoch = (agent.session_epoch or 0) + 1  # its sessions stay ended
    record_event(session, ctx.commune_id, actor, "agent.deactivated",
                 before={"active": True}, after={**_described(agent), "active": False})


def remove_second_factor(session: Session, ctx: CommuneContext, actor: Actor,
                         agent: Agent) -> None:
    """An administrator takes off an agent's second factor (a lost phone, or a secret key
    changed so that the stored secrets no longer open): the agent signs in with their
    password, and enrols again at once if one of their roles requires it."""
    if actor.agent_id == agent.id:
        raise StaffChangeRefused("Retirez votre propre double authentification depuis "
                                 "« Mon compte ».")
    if agent.totp_enabled_at is None and agent.totp_secret is None:
        return
    disable_totp(session, agent, actor)


def reactivate(session: Session, ctx: CommuneContext, actor: Actor, agent: Agent) -> None:
    if agent.active:
        return
    agent.active = True
    record_event(session, ctx.commune_id, actor, "agent.reactivated",
                 before={"active": False}, after={**_described(agent), "active": True})
