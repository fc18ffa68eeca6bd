"""Pages outside any commune: the list of communes served, health check, theme files."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from ticketing.web.extensions import db, limiter
from ticketing.web.registry import registry
from ticketing.web.themes import render_page, send_theme_file

bp = Blueprint("site", __name__)


@bp.get("/")
def index() -> str:
    communes = [c.commune for c in registry().configs.values()]
    return render_page("site/index.html", communes=sorted(communes, key=lambda c: c.name))


@bp.get("/healthz")
@limiter.exempt
def health() -> tuple[dict[str, str], int]:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}, 200


@bp.get("/theme/<slug>/<path:filename>")
@limiter.exempt
def theme_file(slug: str, filename: str):  # type: ignore[no-untyped-def]
    return send_theme_file(slug, filename)
