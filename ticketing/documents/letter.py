"""The postal reply letter: HTML in the commune's charte (logo, colours, address), then PDF.

The template is ``documents/letter.html`` of the commune's theme, else of the default theme;
the logo and ``commune.css`` (its colours) come from the theme's ``static`` folder. Nothing
here touches the database: ``operations/letters.py`` stores the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ticketing.config import CommuneConfig
from ticketing.documents.pdf import render_pdf
from ticketing.mail_templates import MONTHS_FR

DEFAULT_THEME = "default"


@dataclass(frozen=True)
class Letter:
    """What a reply letter says; ``signature`` is the frozen L111-2 mention of its author."""

    number: str
    tracking_code: str
    subject: str
    body: str
    signature: str
    recipient_name: str
    recipient_address: str
    day: date
    validated_by: str = ""  # "Prénom Nom, qualité" of the validator, when there was a visa


def long_date_fr(day: date) -> str:
    """``1er décembre 2026``."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS_FR[day.month - 1]} {day.year}"


def _theme_file(themes_dir: Path, slug: str, name: str) -> str:
    """The path of ``static/<name>`` relative to ``themes_dir``: the commune's, else default."""
    for theme in (slug, DEFAULT_THEME):
        if (themes_dir / theme / "static" / name).is_file():
            return f"{theme}/static/{name}"
    return ""


def letter_html(themes_dir: Path, config: CommuneConfig, letter: Letter) -> str:
    loader = ChoiceLoader([FileSystemLoader(themes_dir / config.slug / "templates"),
                           FileSystemLoader(themes_dir / DEFAULT_THEME / "templates")])
    env = Environment(loader=loader, undefined=StrictUndefined,
                      autoescape=select_autoescape(default=True, default_for_string=True))
    commune = config.commune
    return env.get_template("documents/letter.html").render(
        letter=letter, commune=commune, date_text=long_date_fr(letter.day),
        logo=_theme_file(themes_dir, config.slug, commune.logo),
        colours=_theme_file(themes_dir, config.slug, "commune.css"),
        paragraphs=[p.strip() for p in letter.body.replace("\r\n", "\n").split("\n\n")
                    if p.strip()],
        signature_lines=[line for line in letter.signature.splitlines() if line.strip()],
    )


def letter_pdf(themes_dir: Path, config: CommuneConfig, letter: Letter) -> bytes:
    """The PDF; only files of the themes folder may be read while rendering."""
    return render_pdf(letter_html(themes_dir, config, letter), themes_dir)
