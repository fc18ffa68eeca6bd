"""Column types and mixins shared by every table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, TypeDecorator
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ticketing.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware datetimes on every database (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        return None if value is None else value.replace(tzinfo=UTC)


class TenantScoped:
    """A row that belongs to one commune; scoped sessions see only their commune's rows."""

    @declared_attr
    def commune_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Integer, ForeignKey("communes.id"), nullable=False, index=True)


__all__ = ["Base", "TenantScoped", "UTCDateTime", "utcnow"]
