"""The cabinet pilot: late and soon-due tickets, indicators with charts, a map, exports.

Thin views over ``ticketing.reporting``; an export runs the very query of its page, so it
holds only what the reader may see. Reserved to agents with "view_dashboard" (and "view")
on at least one service; the figures cover those services only. Exports further need
"export": they cover the services where the reader holds all three.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ticketing.domain.deadlines import local_date
from ticketing.domain.rights import permissions_on
from ticketing.models import utcnow
from ticketing.reporting import charts
from ticketing.reporting.exports import CSV_TYPE, XLSX_TYPE, Table, to_csv, to_xlsx
from ticketing.reporting.filters import HORIZONS, Period, PilotFilter
from ticketing.reporting.geo import View, map_points
from ticketing.reporting.indicators import Indicators, compute_indicators
from ticketing.reporting.overdue import OverdueRow, overdue_report, overdue_rows, watched_tickets
from ticketing.web.agent_forms import agent_status_label
from ticketing.web.auth import guard_agent_area
from ticketing.web.extensions import db
from ticketing.web.labels import CHANNEL_LABELS, channel_label
from ticketing.web.registry import current_commune
from ticketing.web.security import csp_with_images_from
from ticketing.web.themes import render_page

bp = Blueprint("pilot", __name__, url_prefix="/<commune>/agent/pilotage")

PILOT_PERMISSIONS = {"view", "view_dashboard"}
EXPORT_PERMISSIONS = PILOT_PERMISSIONS | {"export"}
FORMATS = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}
EXPORT_ENDPOINTS = {"pilot.dashboard_export", "pilot.indicators_export", "pilot.map_export"}


def pilot_services(needed: set[str] = PILOT_PERMISSIONS) -> set[str]:
    """The services whose figures the signed-in agent may see on the pilot pages."""
    config = current_commune().config
    grants = current_user.grants
    return {code for code in config.services
            if needed <= permissions_on(grants, config.roles, code)}


def export_services() -> set[str]:
    """The services whose figures the signed-in agent may also download."""
    return pilot_services(EXPORT_PERMISSIONS)


@bp.before_request
def _guard() -> Any:
    refused = guard_agent_area()
    if refused is not None:
        return refused
    if not pilot_services():
        abort(403)
    if request.endpoint in EXPORT_ENDPOINTS and not export_services():
        abort(403)
    return None


@bp.app_context_processor
def _pilot_link() -> dict[str, Any]:
    def can_pilot() -> bool:
        return bool(g.get("commune") and current_user.is_authenticated and pilot_services())

    return {"can_pilot": can_pilot}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"channel_label": channel_label, "status_label": agent_status_label,
            "date_fr": _date_fr, "number_fr": _number_fr, "can_export": bool(export_services())}


def _date_fr(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _number_fr(value: float | None, suffix: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return text.replace(".", ",") + suffix


def _today() -> date:
    return local_date(utcnow(), current_commune().timezone)


def _filter() -> PilotFilter:
    return PilotFilter.from_args(request.args, current_commune().config)


def _filter_options() -> dict[str, Any]:
    config = current_commune().config
    zones = config.commune.zones
    return {
        "category_options": sorted(((c.code, c.label) for c in config.categories.values()),
                                   key=lambda option: option[1]),
        "channel_options": [(code.value, str(label)) for code, label in CHANNEL_LABELS.items()],
        "zone_options": [(z.code, z.label) for z in zones],
        "elu_options": sorted({z.elu for z in zones if z.elu}),
        "horizons": HORIZONS,
    }


def _download(tables: list[Table], name: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        abort(404)
    body = to_csv(tables) if fmt == "csv" else to_xlsx(tables)
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    response.headers["Content-Type"] = FORMATS[fmt]
    filename = f"{current_commune().config.slug}-{name}-{_today().isoformat()}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- late and soon-due tickets ----------------------------------------------------------


@bp.get("/")
def dashboard() -> str:
    ctx = current_commune()
    flt = _filter()
    today = _today()
    report = overdue_report(db.session, ctx.commune_id, pilot_services(), flt, ctx.config,
                            today)
    return render_page("pilot/dashboard.html", report=report, flt=flt, today=today,
                       services=ctx.config.services, categories=ctx.config.categories,
                       zones={z.code: z.label for z in ctx.config.commune.zones},
                       **_filter_options())


@bp.get("/retards.<fmt>")
def dashboard_export(fmt: str) -> Response:
    ctx = current_commune()
    flt = _filter()
    today = _today()
    base = watched_tickets(ctx.commune_id, export_services(), flt, ctx.config, today)
    rows = overdue_rows(db.session, base, today, ctx.timezone, limit=None)
    return _download([_overdue_table(rows)], "retards", fmt)


def _overdue_table(rows: list[OverdueRow]) -> Table:
    config = current_commune().config
    zones = {z.code: z.label for z in config.commune.zones}
    headers = [_("N°"), _("Objet"), _("Service"), _("Pris en charge par"), _("Catégorie"),
               _("Canal"), _("Quartier"), _("Statut"), _("Reçue le"), _("Âge (jours)"),
               _("Réponse due le"), _("Jours de retard")]
    return Table(_("Demandes en retard ou bientôt dues"), headers, [
        [r.number, r.subject,
         config.services[r.service_code].name if r.service_code in config.services
         else r.service_code,
         r.assignee or "",
         config.categories[r.category_code].label if r.category_code in config.categories
         else (r.category_code or ""),
         channel_label(r.channel), zones.get(r.zone_code or "", r.zone_code or ""),
         agent_status_label(r.status), r.received_on, r.age_days, r.answer_due_on,
         max(r.days_late, 0)]
        for r in rows
    ])


# --- indicators -------------------------------------------------------------------------


def _indicators(services: set[str]) -> tuple[Indicators, PilotFilter, bool]:
    ctx = current_commune()
    period, valid = Period.from_args(request.args, _today())
    flt = _filter()
    found = compute_indicators(db.session, ctx.commune_id, services, flt, ctx.config,
                               period, utcnow())
    return found, flt, valid


@bp.get("/indicateurs")
def indicators() -> tuple[str, int]:
    found, flt, valid = _indicators(pilot_services())
    return render_page("pilot/indicators.html", ind=found, flt=flt, period_valid=valid,
                       charts=indicator_charts(found), rows=indicator_rows(found),
                       **_filter_options()), 200 if valid else 422


@bp.get("/indicateurs.<fmt>")
def indicators_export(fmt: str) -> Response:
    found, _flt, _valid = _indicators(export_services())
    return _download(indicator_tables(found), "indicateurs", fmt)


def _category_label(code: str | None) -> str:
    category = current_commune().config.categories.get(code or "")
    return category.label if category else _("Sans catégorie")


def indicator_rows(ind: Indicators) -> list[tuple[str, str, str]]:
    """(indicator, value, detail) for the page, the public page and the exports."""

    def ratio(r) -> str:  # type: ignore[no-untyped-def]
        return _number_fr(r.percent, " %")

    return [
        (_("Demandes reçues"), str(ind.received), ""),
        (_("Demandes ayant reçu une réponse"), str(ind.answered), ""),
        (_("Délai de réponse médian"), _number_fr(ind.median_days, " j"), ""),
        (_("Délai de réponse (90e centile)"), _number_fr(ind.p90_days, " j"), ""),
        (_("Réponses dans le délai annoncé"), ratio(ind.within_commitment),
         _("%(part)d sur %(whole)d", part=ind.within_commitment.part,
           whole=ind.within_commitment.whole)),
        (_("Accusés de réception en un jour ouvré"), ratio(ind.acknowledged_in_time),
         _("%(part)d sur %(whole)d", part=ind.acknowledged_in_time.part,
           whole=ind.acknowledged_in_time.whole)),
        (_("Taux de réouverture"), ratio(ind.reopened),
         _("%(part)d sur %(whole)d", part=ind.reopened.part, whole=ind.reopened.whole)),
    ]


def indicator_charts(ind: Indicators, prefix: str = "graphique") -> dict[str, Any]:
    period = _("du %(start)s au %(end)s", start=_date_fr(ind.period.start),
               end=_date_fr(ind.period.last_day))
    channels = [(channel_label(code), count) for code, count in ind.by_channel]
    return {
        "channel": charts.bar_chart(
            f"{prefix}-canaux", _("Demandes reçues par canal"),
            _("Nombre de demandes reçues %(period)s, par canal : %(values)s.", period=period,
              values=", ".join(f"{label} {count}" for label, count in channels) or "0"),
            channels),
        "category": charts.bar_chart(
            f"{prefix}-categories", _("Demandes reçues par catégorie"),
            _("Nombre de demandes reçues %(period)s, par catégorie.", period=period),
            [(_category_label(code), count) for code, count in ind.by_category]),
        "weekly": charts.column_chart(
            f"{prefix}-semaines", _("Demandes reçues par semaine"),
            _("Nombre de demandes reçues chaque semaine %(period)s (semaines commençant le "
              "lundi indiqué).", period=period),
            [(monday.strftime("%d/%m"), count) for monday, count in ind.by_week]),
    }


def indicator_tables(ind: Indicators) -> list[Table]:
    period = f"{ind.period.start.isoformat()} – {ind.period.last_day.isoformat()}"
    return [
        Table(_("Indicateurs"), [_("Indicateur"), _("Valeur"), _("Détail")],
              [[_("Période"), period, ""], *[list(row) for row in indicator_rows(ind)]]),
        Table(_("Par canal"), [_("Canal"), _("Demandes")],
              [[channel_label(code), count] for code, count in ind.by_channel]),
        Table(_("Par catégorie"), [_("Catégorie"), _("Demandes")],
              [[_category_label(code), count] for code, count in ind.by_category]),
        Table(_("Par semaine"), [_("Semaine du"), _("Demandes")],
              [[monday, count] for monday, count in ind.by_week]),
    ]


# --- map --------------------------------------------------------------------------------


def _map_points(services: set[str] | None = None):  # type: ignore[no-untyped-def]
    ctx = current_commune()
    services = pilot_services() if services is None else services
    return map_points(db.session, ctx.commune_id, services, _filter(), ctx.config,
                      _today())


@bp.get("/carte")
def map_page() -> Response:
    ctx = current_commune()
    settings = ctx.config.commune.map
    points = _map_points()
    view = View.of(ctx.config.commune.map, points)
    markers, outside = [], []
    for point in points:
        spot = view.project(point.latitude, point.longitude)
        if spot is None:
            outside.append(point)
            continue
        label = f"{point.number} — {point.subject}"
        if point.overdue:
            label += " " + _("(en retard)")
        markers.append(charts.Marker(spot[0], spot[1],
                                     url_for("agent.ticket", number=point.number), label,
                                     point.overdue))
    svg = charts.marker_map(
        "carte-demandes", _("Carte des demandes ouvertes géolocalisées"),
        _("%(count)d demandes placées sur un fond neutre ; carré : en retard, rond : dans "
          "les délais. Chaque repère est un lien vers la demande.", count=len(markers)),
        markers, view.width, view.height)
    flt = _filter()
    response = Response(render_page(
        "pilot/map.html", svg=svg, points=points, outside=outside, flt=flt,
        tiles=settings if settings is not None and settings.tile_url else None,
        markers_url=url_for("pilot.map_markers", **flt.as_args()),
        services=ctx.config.services, zones={z.code: z.label for z in ctx.config.commune.zones},
        **_filter_options()))
    if settings is not None and settings.tile_origin:
        # Only this page loads images from the tile server; every other page keeps the
        # default policy (security.py), which a header set here overrides.
        response.headers["Content-Security-Policy"] = csp_with_images_from(settings.tile_origin)
    return response


@bp.get("/carte.json")
def map_markers() -> Response:
    """The map's markers for the tile map (pilot-map.js): the page's tickets, nothing more."""
    config = current_commune().config
    markers = [
        {"number": p.number, "lat": p.latitude, "lon": p.longitude,
         "service": config.services[p.service_code].name if p.service_code in config.services
         else p.service_code,
         "status": p.status, "status_label": agent_status_label(p.status),
         "overdue": p.overdue, "url": url_for("agent.ticket", number=p.number)}
        for p in _map_points()
    ]
    response = jsonify({"markers": markers})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/carte.<fmt>")
def map_export(fmt: str) -> Response:
    config = current_commune().config
    zones = {z.code: z.label for z in config.commune.zones}
    rows = [[p.number, p.subject,
             config.services[p.service_code].name if p.service_code in config.services
             else p.service_code,
             zones.get(p.zone_code or "", p.zone_code or ""), p.answer_due_on,
             _("oui") if p.overdue else _("non"), p.latitude, p.longitude]
            for p in _map_points(export_services())]
    headers = [_("N°"), _("Objet"), _("Service"), _("Quartier"), _("Réponse due le"),
               _("En retard"), _("Latitude"), _("Longitude")]
    return _download([Table(_("Demandes géolocalisées"), headers, rows)], "carte", fmt)
