"""The audit hash: one canonical text per event, whatever the database gives back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from ticketing.domain.audit_chain import GENESIS_HASH, ChainedFields, canonical_json, event_hash

EVENT = ChainedFields(
    commune_id=1, sequence=7, previous_hash=GENESIS_HASH,
    created_at=datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC), actor_kind="agent",
    actor_agent_id=3, actor_label="Léon Prunelle", action="ticket.status_changed",
    ticket_id=42, before={"status": "new"}, after={"status": "in_progress"},
    remote_addr="192.0.2.1")


def test_the_hash_is_stable_across_time_zones_and_json_round_trips() -> None:
    paris = timezone(timedelta(hours=1))
    same = [
        replace(EVENT, created_at=EVENT.created_at.astimezone(paris)),
        replace(EVENT, created_at=EVENT.created_at.replace(tzinfo=None)),  # naive UTC (raw)
    ]
    assert {event_hash(e) for e in same} == {event_hash(EVENT)}
    # A tuple is stored as a JSON list; integer keys come back as strings.
    assert event_hash(replace(EVENT, after={"pair": ("a", 1)})) == \
        event_hash(replace(EVENT, after={"pair": ["a", 1]}))
    assert event_hash(replace(EVENT, after={1: "x"})) == \
        event_hash(replace(EVENT, after={"1": "x"}))


def test_every_covered_field_changes_the_hash() -> None:
    changes = dict(commune_id=2, sequence=8, previous_hash="f" * 64,
                   created_at=EVENT.created_at + timedelta(microseconds=1), actor_kind="system",
                   actor_agent_id=4, actor_label="Quelqu'un", action="ticket.noted",
                   ticket_id=43, before={"status": "closed"}, after={}, remote_addr=None)
    original = event_hash(EVENT)
    for field, value in changes.items():
        assert event_hash(replace(EVENT, **{field: value})) != original, field


def test_the_canonical_text_is_compact_sorted_json() -> None:
    text = canonical_json(EVENT)
    assert text.startswith('{"action":"ticket.status_changed","actor":{"agent_id":3,')
    assert '"created_at":"2026-11-28T01:02:03.456789Z"' in text and "Léon" in text
