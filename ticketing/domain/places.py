"""Where a request is: a zone of the commune and a point (latitude, longitude) on Earth."""

from __future__ import annotations

from collections.abc import Collection

LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 180.0)


def place_problem(
    zone_codes: Collection[str], zone_code: str | None, latitude: float | None,
    longitude: float | None,
) -> tuple[str, str] | None:
    """(field, French message) of what is wrong with this place, or None if it is usable:
    a zone among ``zone_codes`` (or none), a point given whole and within range (or none)."""
    if zone_code is not None and zone_code not in zone_codes:
        return "zone", "Quartier inconnu."
    if (latitude is None) != (longitude is None):
        return "location", "Position incomplète : indiquez la latitude et la longitude."
    if latitude is not None and longitude is not None and not (
        LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]
        and LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]
    ):
        return "location", "Position hors limites."
    return None
