"""The routing rules: which service queue a new request lands in."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ticketing.config.schema import Category, RoutingRule


@dataclass(frozen=True)
class RoutingDecision:
    service: str
    reason: str
    priority: str | None = None


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents, so 'Réverbère' matches 'reverbere'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _mentions(text: str, keyword: str) -> bool:
    """Whole-word match of ``keyword`` (a word or phrase) with an optional plural 's'/'x'."""
    pattern = r"\b" + re.escape(fold(keyword)) + r"[sx]?\b"
    return re.search(pattern, text) is not None


def rule_matches(rule: RoutingRule, channel: str, category: str | None, folded_text: str) -> bool:
    when = rule.when
    if when.categories and category not in when.categories:
        return False
    if when.channels and channel not in when.channels:
        return False
    if when.keywords_any and not any(_mentions(folded_text, k) for k in when.keywords_any):
        return False
    return True


def route_ticket(
    rules: list[RoutingRule],
    category: Category | None,
    triage_service: str,
    channel: str,
    text: str,
) -> RoutingDecision:
    """Apply the commune's rules in order; then the category's default service; then triage."""
    folded = fold(text)
    category_code = category.code if category else None
    for rule in rules:
        if rule_matches(rule, channel, category_code, folded):
            return RoutingDecision(rule.service, f"règle « {rule.name} »", rule.priority)
    if category is not None and category.default_service:
        return RoutingDecision(category.default_service, f"catégorie « {category.label} »")
    return RoutingDecision(triage_service, "file de tri (aucune règle applicable)")
