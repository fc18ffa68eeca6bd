"""Accent-insensitive text: the one way accents are taken off, for routing, search and sorting."""

from __future__ import annotations

import re
import unicodedata

_FIRST_TWO_PLANES = 0x20000


def _marks_pattern() -> re.Pattern[str]:
    """Every combining character of this Python's Unicode database, as ranges of one class
    (all are in the first two planes; scanning only those keeps the import quick)."""
    ranges: list[str] = []
    start = previous = None
    for code in range(_FIRST_TWO_PLANES):
        if unicodedata.combining(chr(code)):
            if previous is not None and code == previous + 1:
                previous = code
                continue
            if start is not None:
                ranges.append(_range(start, previous))
            start = previous = code
    if start is not None:
        ranges.append(_range(start, previous))
    return re.compile(f"[{''.join(ranges)}]+")


def _range(first: int, last: int | None) -> str:
    last = first if last is None else last
    return re.escape(chr(first)) if first == last else \
        f"{re.escape(chr(first))}-{re.escape(chr(last))}"


_MARKS = _marks_pattern()


def without_accents(text: str) -> str:
    """``text`` decomposed (NFKD) without its combining marks: "Œuvre d'Été" -> "Œuvre d'Ete".

    Runs for every request routed and every row indexed for search, so the marks are
    removed by one regular expression rather than character by character."""
    if text.isascii():
        return text
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))
