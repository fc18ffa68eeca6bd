"""The append-only audit trail: proof of who did what to which request, and when.

Each commune's events form a hash chain (``ticketing.domain.audit_chain``): an event gets
its ``sequence``, ``previous_hash`` and ``hash`` when it is inserted, here and only here,
whoever adds it. The commune's chain head (``audit_chain_heads``) is locked for that
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions are serialised already), so
concurrent writers chain one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    Session,
    mapped_column,
    object_session,
    relationship,
)

from ticketing.domain.audit_chain import GENESIS_HASH, ChainedFields, event_hash
from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ticketing.models.ticket import Ticket


class AuditEvent(TenantScoped, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_ticket", "ticket_id", "id"),
        UniqueConstraint("commune_id", "sequence", name="uq_audit_events_sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    actor_kind: Mapped[str] = mapped_column(String(20))  # citizen, agent, system, anonymous
    actor_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The hash chain, set on insert (see the module docstring).
    sequence: Mapped[int] = mapped_column(Integer)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Lets an event be recorded for a ticket not yet inserted: the flush fills ticket_id
    # before the event is chained (tickets are inserted first).
    ticket: Mapped[Ticket | None] = relationship()

    def chained_fields(self) -> ChainedFields:
        return ChainedFields(
            commune_id=self.commune_id, sequence=self.sequence,
            previous_hash=self.previous_hash, created_at=self.created_at,
            actor_kind=self.actor_kind, actor_agent_id=self.actor_agent_id,
            actor_label=self.actor_label, action=self.action, ticket_id=self.ticket_id,
            before=self.before, after=self.after, remote_addr=self.remote_addr)


class AuditChainHead(Base):
    """The last link of a commune's chain; its row is the lock writers take in turn."""

    __tablename__ = "audit_chain_heads"

    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class AuditTampering(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTampering("audit events are append-only")


# session.info keys: the heads this transaction has locked (as it last left them), and the
# communes whose head the current flush moves.
_LOCKED_KEY = "audit_chain_locked"
_MOVED_KEY = "audit_chain_moved"


@dataclass
class _Head:
    sequence: int
    hash: str


def _locked_head(connection: Connection, commune_id: int) -> _Head:
    """The commune's chain head, locked until the transaction ends (created if missing)."""
    heads = AuditChainHead.__table__
    query = (select(heads.c.last_sequence, heads.c.last_hash)
             .where(heads.c.commune_id == commune_id).with_for_update())
    row = connection.execute(query).first()
    if row is None:  # the commune's first event: create its head, once even if racing
        dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" \
            else sqlite_insert
        connection.execute(dialect_insert(heads).values(
            commune_id=commune_id, last_sequence=0, last_hash=GENESIS_HASH,
        ).on_conflict_do_nothing(index_elements=["commune_id"]))
        row = connection.execute(query).first()
    assert row is not None
    return _Head(row.last_sequence, row.last_hash)


def _head(session: Session, connection: Connection, commune_id: int) -> _Head:
    locked: dict[int, _Head] = session.info.setdefault(_LOCKED_KEY, {})
    if commune_id not in locked:
        locked[commune_id] = _locked_head(connection, commune_id)
    return locked[commune_id]


def lock_chain_head(session: Session, commune_id: int) -> None:
    """Lock the commune's chain head now, until the transaction ends.

    A use case that also locks another row of the commune (e.g. its ticket counter) may call
    this first, so that every writer takes the two locks in the same order.
    """
    _head(session, session.connection(), commune_id)


@event.listens_for(AuditEvent, "before_insert")
def _chain_event(_mapper: Mapper[Any], connection: Connection, target: AuditEvent) -> None:
    session = object_session(target)
    assert session is not None
    head = _head(session, connection, target.commune_id)
    if target.created_at is None:
        target.created_at = utcnow()
    target.before = target.before or {}
    target.after = target.after or {}
    target.sequence = head.sequence + 1
    target.previous_hash = head.hash
    target.hash = event_hash(target.chained_fields())
    head.sequence, head.hash = target.sequence, target.hash
    session.info.setdefault(_MOVED_KEY, set()).add(target.commune_id)


@event.listens_for(Session, "after_flush")
def _move_chain_heads(session: Session, _context) -> None:  # type: ignore[no-untyped-def]
    locked: dict[int, _Head] = session.info.get(_LOCKED_KEY, {})
    heads = AuditChainHead.__table__
    for commune_id in sorted(session.info.pop(_MOVED_KEY, set())):
        head = locked[commune_id]
        session.connection().execute(
            update(heads).where(heads.c.commune_id == commune_id)
            .values(last_sequence=head.sequence, last_hash=head.hash))


@event.listens_for(Session, "after_transaction_end")
def _forget_chain_heads(session: Session, transaction) -> None:  # type: ignore[no-untyped-def]
    """Any transaction or savepoint that ends may have rolled heads back: read them again
    (still locked) at the next event. A flush's own subtransaction is not one of them (it
    cannot roll back alone), so a transaction that flushes often reads its heads once."""
    if transaction.parent is not None and not transaction.nested:
        return
    session.info.pop(_LOCKED_KEY, None)
    session.info.pop(_MOVED_KEY, None)
