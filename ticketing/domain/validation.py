"""The parapheur's rules: which replies need a visa, and who may give it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ticketing.config.schema import Role, ValidationRule
from ticketing.domain.rights import Grant


def rule_for_reply(
    rules: Sequence[ValidationRule], service: str, category: str | None, channel: str,
    kind: str | None,
) -> ValidationRule | None:
    """The first rule whose conditions all hold for a ticket, or None (no visa needed)."""
    for rule in rules:
        when = rule.when
        if when.services and service not in when.services:
            continue
        if when.categories and category not in when.categories:
            continue
        if when.channels and channel not in when.channels:
            continue
        if when.kinds and kind not in when.kinds:
            continue
        return rule
    return None


def holds_validating_role(
    grants: Iterable[Grant], roles: Mapping[str, Role], role_code: str, service: str
) -> bool:
    """Does the holder of ``grants`` hold ``role_code``, with "validate", on ``service``?"""
    role = roles.get(role_code)
    if role is None or "validate" not in role.permissions:
        return False
    return any(g.role_code == role_code and (role.scope == "commune" or g.service_code == service)
               for g in grants)


def may_validate(
    grants: Iterable[Grant], roles: Mapping[str, Role], role_code: str, service: str,
    allow_author: bool, is_author: bool,
) -> bool:
    """The visa rule: the right role on the ticket's service, and not one's own draft
    unless the commune's rule allows it."""
    if is_author and not allow_author:
        return False
    return holds_validating_role(grants, roles, role_code, service)
