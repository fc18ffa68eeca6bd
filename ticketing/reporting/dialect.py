"""SQL expressions that differ between SQLite and PostgreSQL, written once here.

Timestamps are stored in UTC without a zone (``UTCDateTime``); the commune counts in local
dates. The UTC offset is spelt out as a CASE over the zone's offset changes in the range
that matters (found with ``zoneinfo``): SQLite has no time-zone database, and on PostgreSQL
this is about three times cheaper per row than ``timezone()`` over half a million rows. Both
databases give the same local date, daylight saving included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Interval, case, cast, func, literal, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from ticketing.models.base import UTCDateTime


def utc_start_of(day: date, timezone: str) -> datetime:
    """The UTC instant at which ``day`` starts in ``timezone``."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def offset_changes(timezone: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(from_instant, utc_offset_minutes)] covering [start, end]; the first starts at ``start``.

    Scans day by day, then hour by hour on a day whose offset changes (zones change at
    most a few times a year, and on the hour).
    """
    zone = ZoneInfo(timezone)

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(zone).utcoffset()
        return int(delta.total_seconds() // 60) if delta is not None else 0

    moment = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    changes = [(moment, offset(moment))]
    while moment < end:
        following = moment + timedelta(days=1)
        if offset(following) != changes[-1][1]:
            hour = moment
            while hour < following:
                hour += timedelta(hours=1)
                if offset(hour) != changes[-1][1]:
                    changes.append((hour, offset(hour)))
                    break
        moment = following
    return changes


def local_date(
    column: ColumnElement[datetime], timezone: str, dialect: str, start: datetime, end: datetime
) -> ColumnElement[date]:
    """The local date of a UTC timestamp column whose values lie in [``start``, ``end``]."""
    changes = offset_changes(timezone, start, end)
    if dialect == "postgresql":
        def shift(minutes: int) -> ColumnElement[timedelta]:
            return literal(timedelta(minutes=minutes), Interval)
    else:
        def shift(minutes: int) -> ColumnElement[str]:  # type: ignore[misc]
            return literal(f"{minutes:+d} minutes")
    offset: ColumnElement = shift(changes[0][1])  # type: ignore[type-arg]
    if len(changes) > 1:
        offset = case(
            *[(column < literal(at, UTCDateTime), shift(before))
              for (at, _after), (_at, before) in zip(changes[1:], changes, strict=False)],
            else_=shift(changes[-1][1]),
        )
    if dialect == "postgresql":
        return cast(column + offset, Date)
    return type_coerce(func.date(column, offset), Date)


def days_between(
    earlier: ColumnElement[datetime], later: ColumnElement[datetime], dialect: str
) -> ColumnElement[float]:
    """``later - earlier`` in days, as a float (on PostgreSQL a double, not a numeric: the
    percentiles sort it)."""
    if dialect == "postgresql":
        return type_coerce(func.date_part("epoch", later - earlier) / 86400.0, Float)
    return type_coerce(func.julianday(later) - func.julianday(earlier), Float)
