"""The e-mail channel's bookkeeping: every inbound message seen, each mailbox's position, locks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow


class InboundStatus(StrEnum):
    PROCESSED = "processed"  # became a ticket, joined one, or was stored as automatic mail
    QUARANTINED = "quarantined"  # unreadable, too large or failing: kept for an administrator


class InboundMessage(TenantScoped, Base):
    """One mail taken from a mailbox; the unique keys make its processing happen once."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("mailbox_key", "uidvalidity", "uid", name="uq_inbound_messages_uid"),
        # message_id is "" when the mail has none: identical bytes still deduplicate.
        UniqueConstraint("commune_id", "message_id", "raw_sha256",
                         name="uq_inbound_messages_identity"),
        Index("ix_inbound_messages_status", "commune_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_key: Mapped[str] = mapped_column(String(120))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(500), default="")
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer)
    from_address: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(20), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailboxState(TenantScoped, Base):
    """Where a mailbox's reading stands: its UIDVALIDITY and the last UID dealt with."""

    __tablename__ = "mailbox_states"

    mailbox_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MailFailure(Base):
    """Failed attempts at one message, committed apart from the failed transaction."""

    __tablename__ = "mail_failures"

    mailbox_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    uid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MailLease(Base):
    """SQLite's stand-in for an advisory lock: one poller holds a mailbox until expiry."""

    __tablename__ = "mail_leases"

    mailbox_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
