"""Geolocated open tickets for the pilot's map, placed on a Web Mercator view.

The view is the one the tile map (Leaflet) shows for the commune's map centre and zoom,
so the blank map and the tiles line up; points outside it are counted, not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.config.loader import CommuneConfig
from ticketing.config.schema import MapSettings
from ticketing.models import OPEN_STATUSES, Ticket
from ticketing.reporting.filters import PilotFilter

TILE = 256  # pixels of a tile at zoom z: the world is TILE * 2**z pixels wide
MAX_POINTS = 2000


@dataclass(frozen=True)
class MapPoint:
    ticket_id: int
    number: str
    subject: str
    service_code: str
    zone_code: str | None
    answer_due_on: date
    latitude: float
    longitude: float
    overdue: bool
    status: str = ""


@dataclass(frozen=True)
class View:
    """A map window: centre, zoom, size in pixels."""

    latitude: float
    longitude: float
    zoom: int
    width: int = 800
    height: int = 560

    @classmethod
    def of(cls, settings: MapSettings | None, points: Collection[MapPoint]) -> View:
        """The commune's configured view; without one, the centre of the points."""
        if settings is not None:
            return cls(settings.center.lat, settings.center.lon, settings.zoom)
        if not points:
            return cls(46.6, 2.4, 5)  # metropolitan France
        lat = sum(p.latitude for p in points) / len(points)
        lon = sum(p.longitude for p in points) / len(points)
        return cls(lat, lon, 13)

    def project(self, latitude: float, longitude: float) -> tuple[float, float] | None:
        """Pixel position of a point in this view; None when it falls outside."""
        cx, cy = world_pixels(self.latitude, self.longitude, self.zoom)
        px, py = world_pixels(latitude, longitude, self.zoom)
        x, y = px - cx + self.width / 2, py - cy + self.height / 2
        if 0 <= x <= self.width and 0 <= y <= self.height:
            return x, y
        return None

    def bounds(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) in degrees."""
        cx, cy = world_pixels(self.latitude, self.longitude, self.zoom)
        south, west = geo_of(cx - self.width / 2, cy + self.height / 2, self.zoom)
        north, east = geo_of(cx + self.width / 2, cy - self.height / 2, self.zoom)
        return south, west, north, east


def world_pixels(latitude: float, longitude: float, zoom: int) -> tuple[float, float]:
    """Web Mercator (EPSG:3857) pixel coordinates at ``zoom``."""
    size = TILE * 2**zoom
    lat = max(min(latitude, 85.05112878), -85.05112878)
    x = (longitude + 180) / 360 * size
    sin = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * size
    return x, y


def geo_of(x: float, y: float, zoom: int) -> tuple[float, float]:
    """(latitude, longitude) of world pixel (x, y) at ``zoom``."""
    size = TILE * 2**zoom
    longitude = x / size * 360 - 180
    latitude = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / size))))
    return latitude, longitude


def map_points(
    session: Session, commune_id: int, services: Collection[str], flt: PilotFilter,
    config: CommuneConfig, today: date, limit: int = MAX_POINTS,
) -> list[MapPoint]:
    """Open geolocated tickets of ``services`` matching ``flt``, the most overdue first."""
    if not services:
        return []
    stmt = flt.apply(
        select(Ticket.id, Ticket.number, Ticket.subject, Ticket.service_code,
               Ticket.zone_code, Ticket.answer_due_on, Ticket.latitude, Ticket.longitude,
               Ticket.status)
        .where(
            Ticket.commune_id == commune_id,
            Ticket.service_code.in_(sorted(services)),
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            Ticket.latitude.is_not(None),
            Ticket.longitude.is_not(None),
        ),
        config,
    ).order_by(Ticket.answer_due_on, Ticket.id).limit(limit)
    return [
        MapPoint(row.id, row.number, row.subject, row.service_code, row.zone_code,
                 row.answer_due_on, row.latitude, row.longitude, row.answer_due_on < today,
                 str(row.status))
        for row in session.execute(stmt)
    ]
