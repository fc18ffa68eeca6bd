"""People other than the citizen allowed to write on a ticket by e-mail (spouse, lawyer…)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow


class TicketContact(TenantScoped, Base):
    """An address recorded by an agent: its mail quoting the ticket's code joins the ticket."""

    __tablename__ = "ticket_contacts"
    __table_args__ = (UniqueConstraint("ticket_id", "email", name="uq_ticket_contacts_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    email: Mapped[str] = mapped_column(String(254))  # lower-cased
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(100), default="")  # "conjoint", "avocat"…
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
