"""The routing rules: which service queue a new request lands in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ticketing.config.schema import Category, RoutingRule
from ticketing.domain.text import without_accents


@dataclass(frozen=True)
class RoutingDecision:
    service: str
    reason: str
    priority: str | None = None


_SAME_AS = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "-": " ", "‐": " ", "œ": "oe", "æ": "ae"})


def fold(text: str) -> str:
    """Lower-case, strip accents, unify apostrophes and hyphens: 'Nid-de-poule' ~ 'nid de poule'."""
    return without_accents(text.casefold().translate(_SAME_AS))


def _mentions(text: str, keyword: str) -> bool:
    """Whole-word match of ``keyword`` (a word or phrase), each word with an optional plural."""
    pattern = _keyword_pattern(keyword)
    return pattern is not None and pattern.search(text) is not None


@lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """Built once per keyword: every request is matched against every rule's keywords."""
    words = fold(keyword).split()
    if not words:
        return None
    return re.compile(r"\b" + r"\s+".join(re.escape(word) + r"[sx]?" for word in words) + r"\b")


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
