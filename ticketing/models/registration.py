"""The register (registre du courrier et de l'accueil): letters, calls and counter visits
recorded by an agent, each with its yearly register number (chrono)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow
from ticketing.models.people import Agent
from ticketing.models.ticket import Attachment, Ticket


class RegisterCounter(Base):
    """Last register number given in a commune for a year (its own chrono, apart from the
    ticket numbers, which every channel shares)."""

    __tablename__ = "register_counters"

    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class RegisterEntry(TenantScoped, Base):
    """One line of the register: which ticket, its chrono, who registered it, its slip."""

    __tablename__ = "register_entries"
    __table_args__ = (
        UniqueConstraint("commune_id", "number", name="uq_register_entries_commune_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    number: Mapped[str] = mapped_column(String(20))
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The PDF acknowledgement slip produced at registration (also in the ticket's files).
    slip_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))

    ticket: Mapped[Ticket] = relationship()
    registered_by: Mapped[Agent] = relationship()
    slip: Mapped[Attachment | None] = relationship()
