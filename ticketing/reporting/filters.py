"""What the pilot looks at: a filter (category, channel, zone, élu) and a period of days.

Both are read from a query string through allow-lists: a value the commune does not know
is dropped, never passed on to SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select

from ticketing.config.loader import CommuneConfig
from ticketing.config.schema import Channel
from ticketing.models import Ticket

HORIZONS = (0, 1, 3, 7, 14)  # "soon due": within this many days from today
DEFAULT_HORIZON = 3
DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366


@dataclass(frozen=True)
class PilotFilter:
    category: str | None = None
    channel: str | None = None
    zone: str | None = None
    elu: str | None = None  # the élu's name: every zone in their charge
    horizon: int = DEFAULT_HORIZON

    @classmethod
    def from_args(cls, args: Mapping[str, str], config: CommuneConfig) -> PilotFilter:
        zones = config.commune.zones
        category = args.get("categorie") or None
        channel = args.get("canal") or None
        zone = args.get("quartier") or None
        elu = args.get("elu") or None
        horizon = args.get("horizon", "")
        return cls(
            category=category if category in config.categories else None,
            channel=channel if channel in {c.value for c in Channel} else None,
            zone=zone if zone in {z.code for z in zones} else None,
            elu=elu if elu in {z.elu for z in zones if z.elu} else None,
            horizon=int(horizon) if horizon in {str(h) for h in HORIZONS} else DEFAULT_HORIZON,
        )

    def as_args(self) -> dict[str, str]:
        """The query string giving this filter (for links: exports, map, pages)."""
        args = {"categorie": self.category, "canal": self.channel, "quartier": self.zone,
                "elu": self.elu}
        found = {key: value for key, value in args.items() if value}
        if self.horizon != DEFAULT_HORIZON:
            found["horizon"] = str(self.horizon)
        return found

    def zone_codes(self, config: CommuneConfig) -> list[str] | None:
        """The zones to keep; None: no zone condition."""
        if self.elu is None:
            return [self.zone] if self.zone else None
        codes = [z.code for z in config.commune.zones if z.elu == self.elu]
        return [c for c in codes if c == self.zone] if self.zone else codes

    def apply(self, stmt: Select, config: CommuneConfig) -> Select:  # type: ignore[type-arg]
        """``stmt`` (a select over tickets) narrowed to this filter."""
        if self.category:
            stmt = stmt.where(Ticket.category_code == self.category)
        if self.channel:
            stmt = stmt.where(Ticket.channel == self.channel)
        zones = self.zone_codes(config)
        if zones is not None:
            stmt = stmt.where(Ticket.zone_code.in_(zones))
        return stmt


@dataclass(frozen=True)
class Period:
    """The days [start, end) of received dates, in the commune's time zone."""

    start: date
    end: date  # exclusive

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @classmethod
    def last_days(cls, today: date, days: int = DEFAULT_PERIOD_DAYS) -> Period:
        """The ``days`` days ending with today."""
        return cls(today - timedelta(days=days - 1), today + timedelta(days=1))

    @classmethod
    def from_args(cls, args: Mapping[str, str], today: date) -> tuple[Period, bool]:
        """The period of ``du``/``au`` (ISO dates, both included); the default (the last
        30 days) and False when they are missing, malformed, reversed or too long."""
        try:
            start = date.fromisoformat(args.get("du", ""))
            last = date.fromisoformat(args.get("au", ""))
        except ValueError:
            return cls.last_days(today), "du" not in args and "au" not in args
        if last < start or (last - start).days >= MAX_PERIOD_DAYS:
            return cls.last_days(today), False
        return cls(start, last + timedelta(days=1)), True

    def as_args(self) -> dict[str, str]:
        return {"du": self.start.isoformat(), "au": self.last_day.isoformat()}
