"""Notifications sent by the deadline jobs: one row per (what, about which ticket, to whom,
for which period), so a job run twice never sends anything twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow


class Notification(TenantScoped, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("commune_id", "kind", "ticket_key", "recipient", "period_key",
                         name="uq_notifications_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # The ticket id as text, "" for a digest: NULLs are all distinct in a UNIQUE constraint,
    # so the nullable ticket_id alone could not make a digest unique.
    ticket_key: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))  # deadline_warning, escalation, digest…
    recipient: Mapped[str] = mapped_column(String(254))  # an e-mail address
    period_key: Mapped[str] = mapped_column(String(40))  # a date, or a due date and a step
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
