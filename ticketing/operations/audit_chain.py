"""Checking the audit hash chain: recompute every commune's chain, name the first broken link."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.domain.audit_chain import GENESIS_HASH, event_hash
from ticketing.models import AuditEvent, CommuneRecord
from ticketing.models.audit import AuditChainHead


@dataclass(frozen=True)
class BrokenLink:
    """The first event of a commune's chain that does not match (``event_id`` None when
    events are missing at the end of the chain)."""

    commune_slug: str
    event_id: int | None
    sequence: int
    problem: str

    def describe(self) -> str:
        where = f"event id {self.event_id}" if self.event_id is not None else "end of chain"
        return f"{self.commune_slug}: {where}, sequence {self.sequence}: {self.problem}"


@dataclass
class ChainReport:
    checked: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.broken


def verify_chain(session: Session, commune: CommuneRecord) -> tuple[int, BrokenLink | None]:
    """(events checked, first broken link or None) for one commune, in sequence order."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.commune_id == commune.id)
        .order_by(AuditEvent.sequence, AuditEvent.id)
        .execution_options(yield_per=1000))
    expected_sequence, previous_hash, checked = 1, GENESIS_HASH, 0

    def broken(event: AuditEvent | None, sequence: int, problem: str) -> BrokenLink:
        return BrokenLink(commune.slug, event.id if event else None, sequence, problem)

    for event in events:
        checked += 1
        if event.sequence != expected_sequence:
            missing = (f"events {expected_sequence} to {event.sequence - 1} are missing"
                       if event.sequence > expected_sequence else "sequence repeated")
            return checked, broken(event, event.sequence, f"{missing} (deleted?)")
        if event.previous_hash != previous_hash:
            return checked, broken(event, event.sequence,
                                   "previous_hash does not match the previous event's hash")
        if event_hash(event.chained_fields()) != event.hash:
            return checked, broken(event, event.sequence,
                                   "content changed since it was recorded (hash mismatch)")
        expected_sequence, previous_hash = expected_sequence + 1, event.hash
    head = session.get(AuditChainHead, commune.id)
    last = expected_sequence - 1
    if head is not None and (head.last_sequence != last or head.last_hash != previous_hash):
        if head.last_sequence > last:
            problem = (f"the chain head records {head.last_sequence} events: events "
                       f"{last + 1} to {head.last_sequence} are missing (deleted?)")
        else:
            problem = "the chain head does not match the last event"
        return checked, broken(None, last + 1, problem)
    if head is None and checked:
        return checked, broken(None, last, "the commune's chain head is missing")
    return checked, None


def verify_all(session: Session, slug: str | None = None) -> ChainReport:
    """Verify every commune's chain (or ``slug``'s); an unknown slug raises LookupError."""
    query = select(CommuneRecord).order_by(CommuneRecord.slug)
    if slug is not None:
        query = query.where(CommuneRecord.slug == slug)
    communes = session.scalars(query).all()
    if slug is not None and not communes:
        raise LookupError(slug)
    report = ChainReport()
    for commune in communes:
        checked, broken = verify_chain(session, commune)
        report.checked += checked
        if broken is not None:
            report.broken.append(broken)
    return report
