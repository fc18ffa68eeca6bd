"""Who may do what: permissions from the commune's roles, granted per service or commune-wide."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ticketing.config.schema import Role


@dataclass(frozen=True)
class Grant:
    service_code: str
    role_code: str


def permissions_on(grants: Iterable[Grant], roles: Mapping[str, Role], service: str) -> set[str]:
    """What the holder of ``grants`` may do to a ticket of ``service``."""
    allowed: set[str] = set()
    for grant in grants:
        role = roles.get(grant.role_code)
        if role is None:
            continue  # a role removed from the YAML grants nothing
        if role.scope == "commune" or grant.service_code == service:
            allowed.update(role.permissions)
    return allowed


def visible_services(
    grants: Iterable[Grant], roles: Mapping[str, Role], all_services: Iterable[str]
) -> set[str]:
    """The services whose tickets the holder may view."""
    return {s for s in all_services if "view" in permissions_on(grants, roles, s)}
