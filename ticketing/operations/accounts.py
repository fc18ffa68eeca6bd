"""Agent accounts: creation, password hashing (Argon2id) and authentication."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.models import Agent, Membership, utcnow
from ticketing.operations.events import Actor, record_event

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login with an unknown address the same.
_DUMMY_HASH = _hasher.hash("aiguillage-unknown-account")

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères")
    return _hasher.hash(password)


def create_agent(
    session: Session,
    commune_id: int,
    email: str,
    full_name: str,
    password: str,
    actor: Actor,
    title: str = "",
    memberships: list[tuple[str, str]] = (),  # type: ignore[assignment]
    password_hash: str | None = None,
) -> Agent:
    """Create an agent; ``password_hash`` (already hashed) spares the hashing of ``password``."""
    agent = Agent(
        commune_id=commune_id, email=email.strip().lower(), full_name=full_name, title=title,
        password_hash=password_hash or hash_password(password),
    )
    agent.memberships = [
        Membership(commune_id=commune_id, service_code=service, role_code=role)
        for service, role in memberships
    ]
    session.add(agent)
    session.flush()
    record_event(session, commune_id, actor, "agent.created", after={
        "agent_id": agent.id, "email": agent.email, "memberships": list(map(list, memberships)),
    })
    return agent


def authenticate(
    session: Session, commune_id: int, email: str, password: str, remote_addr: str | None
) -> Agent | None:
    """The active agent with these credentials, or None; every attempt is audited."""
    agent = session.scalars(
        select(Agent).where(Agent.commune_id == commune_id, Agent.email == email.strip().lower())
    ).first()
    valid = False
    try:
        valid = _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        valid = False
    if agent is None or not agent.active or not valid:
        record_event(session, commune_id, Actor("anonymous", email[:200], None, remote_addr),
                     "login.failed", after={"email": email[:200]})
        return None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    agent.last_login_at = utcnow()
    record_event(session, commune_id, Actor.agent(agent, remote_addr), "login.succeeded")
    return agent
