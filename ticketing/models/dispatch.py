"""Dispatch and collaboration: copies for information, forwarding to another administration,
split tickets, and who is looking at a ticket right now (the collision warning)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow


class TicketCopy(TenantScoped, Base):
    """A service that receives a ticket for information: it may view it and add notes."""

    __tablename__ = "ticket_copies"
    __table_args__ = (
        UniqueConstraint("ticket_id", "service_code", name="uq_ticket_copies_service"),
        # The queue of a copied service: its copies, whatever the table size.
        Index("ix_ticket_copies_service", "commune_id", "service_code", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    service_code: Mapped[str] = mapped_column(String(40))
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Forwarding(TenantScoped, Base):
    """The commune was not competent: the request went to another administration (CRPA L114-2)."""

    __tablename__ = "forwardings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    administration: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketSplit(TenantScoped, Base):
    """A part of a request made into a ticket of its own."""

    __tablename__ = "ticket_splits"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    part_ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketViewing(TenantScoped, Base):
    """The last time an agent had a ticket open (refreshed by the page while it stays open)."""

    __tablename__ = "ticket_viewings"
    __table_args__ = (
        UniqueConstraint("ticket_id", "agent_id", name="uq_ticket_viewings_agent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
