"""A commune known to the deployment, and its yearly ticket counters."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base


class CommuneRecord(Base):
    """The database side of a commune; everything else about it lives in its YAML."""

    __tablename__ = "communes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class TicketCounter(Base):
    """Last ticket number given in a commune for a year (numbers are per commune and year)."""

    __tablename__ = "ticket_counters"

    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
