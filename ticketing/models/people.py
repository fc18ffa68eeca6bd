"""Citizens who write to the commune, and agents who answer them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow


class Citizen(TenantScoped, Base):
    __tablename__ = "citizens"
    __table_args__ = (Index("ix_citizens_commune_email", "commune_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # mail to it bounced

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Agent(TenantScoped, Base):
    """A commune employee or élu who logs in to the agent side."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("commune_id", "email", name="uq_agents_commune_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised when the password changes: every session signed in before it ends.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP second factor: the secret is kept from enrolment, in force once confirmed. It is
    # stored sealed (Fernet, key derived from the app's secret key: domain/secret_box).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code is used only once

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", lazy="selectin"
    )


class Membership(TenantScoped, Base):
    """An agent's role in one service (roles are defined in the commune's roles.yaml)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("agent_id", "service_code", "role_code", name="uq_memberships_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    service_code: Mapped[str] = mapped_column(String(40))
    role_code: Mapped[str] = mapped_column(String(40))

    agent: Mapped[Agent] = relationship(back_populates="memberships")
