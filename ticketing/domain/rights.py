"""Who may do what: permissions from the commune's roles, granted per service or commune-wide."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from ticketing.config.schema import Role


@dataclass(frozen=True)
class Grant:
    service_code: str
    role_code: str


# What a service that received a ticket for information may do to it: read it, add notes.
COPY_PERMISSIONS = frozenset({"view", "note"})


def permissions_on(
    grants: Iterable[Grant], roles: Mapping[str, Role], service: str,
    copied_to: Collection[str] = (),
) -> set[str]:
    """What the holder of ``grants`` may do to a ticket of ``service``, copied for
    information to the services ``copied_to`` (their members may only view and note)."""
    allowed: set[str] = set()
    for grant in grants:
        role = roles.get(grant.role_code)
        if role is None:
            continue  # a role removed from the YAML grants nothing
        if role.scope == "commune" or grant.service_code == service:
            allowed.update(role.permissions)
        elif grant.service_code in copied_to and "view" in role.permissions:
            allowed.update(COPY_PERMISSIONS.intersection(role.permissions))
    return allowed


def visible_services(
    grants: Iterable[Grant], roles: Mapping[str, Role], all_services: Iterable[str]
) -> set[str]:
    """The services whose tickets the holder may view."""
    return {s for s in all_services if "view" in permissions_on(grants, roles, s)}
