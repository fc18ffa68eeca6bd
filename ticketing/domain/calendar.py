"""Which days a commune is open: French public holidays of its subdivision, plus its closures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays

METROPOLE = "FR"


def normalise_subdivision(code: str) -> str | None:
    """Return the `holidays` subdivision code for ``code`` (None for metropolitan France).

    The package silently accepts unknown codes, so we check against its list.
    """
    if code == METROPOLE:
        return None
    known = holidays.France.subdivisions
    aliases = holidays.France.subdivisions_aliases
    if code in known and not code.startswith("Zone"):
        return code
    if code in aliases:
        return aliases[code]
    choices = ", ".join(["FR"] + [c for c in known if not c.startswith("Zone")])
    raise ValueError(
        f"unknown holiday subdivision {code!r}; use one of {choices} "
        "(or an alias such as Moselle, Alsace, RE)"
    )


@lru_cache(maxsize=64)
def _public_holidays(subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.France(subdiv=subdivision, years=year).keys())


@dataclass(frozen=True)
class CommuneCalendar:
    """Open and closed days of one commune."""

    subdivision: str | None = None
    closed_days: frozenset[date] = field(default_factory=frozenset)
    removed_holidays: frozenset[date] = field(default_factory=frozenset)

    def is_holiday(self, day: date) -> bool:
        if day in self.removed_holidays:
            return False
        return day in _public_holidays(self.subdivision, day.year)

    def is_closed(self, day: date) -> bool:
        """A public holiday or one of the commune's own closure days."""
        return day in self.closed_days or self.is_holiday(day)

    def is_working_day(self, day: date) -> bool:
        """Jour ouvré: Monday to Friday, not closed."""
        return day.weekday() < 5 and not self.is_closed(day)

    def is_business_day(self, day: date) -> bool:
        """Jour ouvrable: Monday to Saturday, not closed."""
        return day.weekday() < 6 and not self.is_closed(day)

    def next_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day
