"""The one place that changes a ticket and writes the audit event for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from ticketing.models import Agent, AuditEvent, Ticket


@dataclass(frozen=True)
class Actor:
    """Who acts: an agent, a citizen (through a public channel) or the system (jobs)."""

    kind: str
    label: str
    agent_id: int | None = None
    remote_addr: str | None = None

    @classmethod
    def agent(cls, agent: Agent, remote_addr: str | None = None) -> Actor:
        return cls("agent", agent.full_name, agent.id, remote_addr)

    @classmethod
    def citizen(cls, label: str, remote_addr: str | None = None) -> Actor:
        return cls("citizen", label, None, remote_addr)

    @classmethod
    def system(cls, label: str = "Aiguillage") -> Actor:
        return cls("system", label)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def record_event(
    session: Session,
    commune_id: int,
    actor: Actor,
    action: str,
    ticket: Ticket | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event; a ticket not yet inserted gets its id at the next flush."""
    event = AuditEvent(
        commune_id=commune_id,
        ticket=ticket,
        actor_kind=actor.kind,
        actor_agent_id=actor.agent_id,
        actor_label=actor.label,
        action=action,
        before={k: _plain(v) for k, v in (before or {}).items()},
        after={k: _plain(v) for k, v in (after or {}).items()},
        remote_addr=actor.remote_addr,
    )
    session.add(event)
    return event


def change_ticket(
    session: Session, ticket: Ticket, actor: Actor, action: str, **changes: Any
) -> AuditEvent | None:
    """Apply ``changes`` to ``ticket`` and audit what really changed (None if nothing did)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, value in changes.items():
        if not hasattr(Ticket, field):
            raise AttributeError(f"Ticket has no field {field!r}")
        current = getattr(ticket, field)
        if current != value:
            before[field], after[field] = current, value
            setattr(ticket, field, value)
    if not after:
        return None
    return record_event(session, ticket.commune_id, actor, action, ticket, before, after)
