"""The audit hash chain: each event's hash covers its content and the previous event's hash.

Changing, inserting or deleting an event in the middle of a commune's chain changes every
hash after it, so ``aiguillage audit verify`` finds the first event that no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64  # the "previous hash" of a commune's first event


@dataclass(frozen=True)
class ChainedFields:
    """What an event's hash covers, as the database stores it."""

    commune_id: int
    sequence: int
    previous_hash: str
    created_at: datetime
    actor_kind: str
    actor_agent_id: int | None
    actor_label: str
    action: str
    ticket_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    remote_addr: str | None


def as_stored(value: Any) -> Any:
    """``value`` as a JSON column gives it back (tuples become lists, keys strings...)."""
    return json.loads(json.dumps(value, default=str))


def canonical_json(fields: ChainedFields) -> str:
    """One text per event whatever the database: sorted keys, no spaces, UTC microseconds."""
    created_at = fields.created_at
    if created_at.tzinfo is None:  # read raw from a column without time zone: it is UTC
        created_at = created_at.replace(tzinfo=UTC)
    payload = {
        "commune": fields.commune_id,
        "sequence": fields.sequence,
        "previous_hash": fields.previous_hash,
        "created_at": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": {"kind": fields.actor_kind, "agent_id": fields.actor_agent_id,
                  "label": fields.actor_label},
        "action": fields.action,
        "ticket_id": fields.ticket_id,
        "before": as_stored(fields.before or {}),
        "after": as_stored(fields.after or {}),
        "remote_addr": fields.remote_addr,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def event_hash(fields: ChainedFields) -> str:
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()
