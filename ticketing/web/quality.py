"""The public page of a commune's quality results (optional: ``publish_quality_results``).

Aggregates over every service for the last three complete months; no personal data.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort

from ticketing.domain.deadlines import local_date
from ticketing.models import utcnow
from ticketing.reporting.filters import Period, PilotFilter
from ticketing.reporting.indicators import compute_indicators
from ticketing.web.extensions import db
from ticketing.web.pilot import indicator_charts, indicator_rows
from ticketing.web.registry import current_commune
from ticketing.web.themes import render_page

bp = Blueprint("quality", __name__, url_prefix="/<commune>")

MONTHS = 3


def published_period(today: date, months: int = MONTHS) -> Period:
    """The ``months`` complete calendar months before the current one."""
    end = today.replace(day=1)
    start = end
    for _ in range(months):
        start = (start.replace(day=1) - date.resolution).replace(day=1)
    return Period(start, end)


@bp.get("/qualite")
def results() -> str:
    ctx = current_commune()
    if not ctx.config.commune.publish_quality_results:
        abort(404)
    now = utcnow()
    period = published_period(local_date(now, ctx.timezone))
    found = compute_indicators(db.session, ctx.commune_id, set(ctx.config.services),
                               PilotFilter(), ctx.config, period, now)
    return render_page("public/quality.html", ind=found, rows=indicator_rows(found),
                       charts=indicator_charts(found, prefix="qualite"))
