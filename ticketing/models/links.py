"""Explicit relations between tickets: "related" links, and a duplicate merged into another."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow


class LinkKind(StrEnum):
    RELATED = "related"  # stored once, ticket_id < other_ticket_id
    MERGED = "merged"  # ticket_id was merged into other_ticket_id (the one kept)


class TicketLink(TenantScoped, Base):
    __tablename__ = "ticket_links"
    __table_args__ = (
        UniqueConstraint("ticket_id", "other_ticket_id", name="uq_ticket_links_pair"),
        Index("ix_ticket_links_other", "other_ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    other_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
