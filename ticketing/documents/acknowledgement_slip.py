"""The printable acknowledgement (accusé de réception, CRPA L112-3 and R112-5) as a PDF:
handed over at the counter, posted back for a letter, downloadable for any ticket."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from ticketing.documents.pdf import render_pdf
from ticketing.mail_templates import format_date_fr
from ticketing.models import Ticket
from ticketing.operations.acknowledgement import acknowledgement_context
from ticketing.operations.context import CommuneContext

TEMPLATE = "documents/acknowledgement.html"
DEFAULT_THEME = "default"


def slip_filename(ticket: Ticket) -> str:
    return f"accuse-de-reception-{ticket.number}.pdf"


def render_acknowledgement_slip(
    ctx: CommuneContext, ticket: Ticket, themes_dir: Path, issued_at: datetime,
    register_number: str | None = None,
) -> bytes:
    """The slip's PDF: the commune's logo and address, the numbers and tracking code, the
    date received, the service in charge, the answer date and, for a decision, the silence
    rule. Only files of the themes folder are read."""
    context = acknowledgement_context(ctx, ticket)
    local_issue = issued_at.astimezone(ZoneInfo(ctx.timezone))
    html = _environment(themes_dir, ctx.config.slug).get_template(TEMPLATE).render(
        **context,
        register_number=register_number,
        issued_on=local_issue.date(),
        received_time=ticket.received_at.astimezone(ZoneInfo(ctx.timezone)).strftime("%H:%M"),
        logo_uri=_theme_file(themes_dir, ctx.config.slug, ctx.config.commune.logo),
    )
    return render_pdf(html, themes_dir)


def _environment(themes_dir: Path, slug: str) -> Environment:
    loaders = [FileSystemLoader(themes_dir / slug / "templates"),
               FileSystemLoader(themes_dir / DEFAULT_THEME / "templates")]
    env = Environment(loader=ChoiceLoader(loaders), autoescape=True,
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["date_fr"] = format_date_fr
    return env


def _theme_file(themes_dir: Path, slug: str, name: str) -> str | None:
    """``themes/<slug>/static/<name>`` or the default theme's, as a file URI."""
    for theme in (slug, DEFAULT_THEME):
        path = (themes_dir / theme / "static" / name).resolve()
        if path.is_file() and path.is_relative_to(themes_dir.resolve()):
            return path.as_uri()
    return None
