"""Plain-text mail templates, looked up in the commune's theme, then in the default theme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined


class MailTemplates:
    """Renders ``themes/<slug>/mail/<name>`` or, failing that, ``themes/default/mail/<name>``."""

    def __init__(self, themes_dir: Path, slug: str):
        loaders = [FileSystemLoader(themes_dir / slug / "mail"),
                   FileSystemLoader(themes_dir / "default" / "mail")]
        self._env = Environment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
            keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        )
        self._env.filters["date_fr"] = format_date_fr

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(context)


MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")
DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def format_date_fr(day: Any) -> str:
    """``lundi 7 décembre 2026``: dates in mail as a citizen reads them."""
    if day is None:
        return ""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{DAYS_FR[day.weekday()]} {first} {MONTHS_FR[day.month - 1]} {day.year}"
