"""A ticket (one citizen request), its thread and its attachments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing.models.audit import AuditEvent
from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow
from ticketing.models.people import Agent, Citizen


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_CITIZEN = "waiting_citizen"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_CITIZEN)
# What the pilot's indicators read of a ticket besides its commune and received_at.
PILOT_COLUMNS = ["service_code", "channel", "category_code", "zone_code", "acknowledged_at",
                 "first_answer_at", "answer_due_on", "id"]
# A reopening: a status change from answered or closed back to an open status (the pilot's
# reopen rate, ticketing/reporting/indicators.py). Written out in SQL, with the statuses'
# values as literals: the partial index ix_audit_events_reopenings and the query share this
# very text (tests/unit/test_reopening_condition.py checks it names the statuses above).
REOPENING_WHERE = {
    "postgresql": text("action = 'ticket.status_changed' "
                       "AND (before ->> 'status') IN ('answered', 'closed') "
                       "AND (after ->> 'status') IN ('new', 'in_progress', 'waiting_citizen')"),
    "sqlite": text("action = 'ticket.status_changed' "
                   "AND json_extract(before, '$.status') IN ('answered', 'closed') "
                   "AND json_extract(after, '$.status') IN ('new', 'in_progress', "
                   "'waiting_citizen')"),
}


class EntryKind(StrEnum):
    INBOUND = "inbound"  # from the citizen
    REPLY = "reply"  # from an agent to the citizen
    NOTE = "note"  # internal, never shown to the citizen


class Ticket(TenantScoped, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("commune_id", "number", name="uq_tickets_commune_number"),
        UniqueConstraint("commune_id", "tracking_code", name="uq_tickets_commune_tracking"),
        # The queue page: one service's open tickets by due date, whatever the table size.
        Index("ix_tickets_queue", "commune_id", "service_code", "status", "answer_due_on", "id"),
        Index("ix_tickets_assignee", "commune_id", "assignee_id", "status", "answer_due_on"),
        # The pilot's indicators: one commune's tickets received in a period; on PostgreSQL
        # the index also carries every column they read (index-only scans).
        Index("ix_tickets_received", "commune_id", "received_at",
              postgresql_include=PILOT_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    tracking_code: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str | None] = mapped_column(String(40))
    service_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    # The pilot's sector filter and map (commune.yaml zones); all optional.
    zone_code: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    extra_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    routing_reason: Mapped[str] = mapped_column(String(300), default="")
    deadline_rule: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_on: Mapped[date | None] = mapped_column(Date)
    ack_due_on: Mapped[date] = mapped_column(Date)
    answer_due_on: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The deadline clock (operations/deadlines.py): stopped while waiting for the citizen;
    # paused_days counts the calendar days it stood still (answer_due_on already includes
    # the extension, counted in the rule's unit).
    clock_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Implicit decision (silence vaut acceptation / rejet) for categories with `silence`.
    decision_due_on: Mapped[date | None] = mapped_column(Date)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # deadline warning sent
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A mail that looked like a reply but could not be attached: a "possible follow-up" of this.
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # RGPD: when the retention job dropped its personal data (operations/retention.py).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    citizen: Mapped[Citizen] = relationship(lazy="joined")
    assignee: Mapped[Agent | None] = relationship(lazy="joined")
    entries: Mapped[list[ThreadEntry]] = relationship(
        back_populates="ticket", order_by="ThreadEntry.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="ticket", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ThreadEntry(TenantScoped, Base):
    """One message of a ticket's thread: from the citizen, a reply, or an internal note."""

    __tablename__ = "thread_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    # Frozen at writing time: the legal mention of who handled the case (CRPA L111-2).
    author_signature: Mapped[str] = mapped_column(String(400), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="entries")
    author: Mapped[Agent | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(back_populates="entry")

    @property
    def is_public(self) -> bool:
        return self.kind in (EntryKind.INBOUND, EntryKind.REPLY)


class Attachment(TenantScoped, Base):
    """A file stored on disk by content hash; served only through its random public id."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("thread_entries.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")
    entry: Mapped[ThreadEntry | None] = relationship(back_populates="attachments")


# The few audit events that reopen a ticket, for the pilot's reopen rate. Declared with the
# statuses it names (audit.py holds the chain's own columns and constraints).
Index("ix_audit_events_reopenings", AuditEvent.commune_id, AuditEvent.ticket_id,
      postgresql_where=REOPENING_WHERE["postgresql"], sqlite_where=REOPENING_WHERE["sqlite"])
