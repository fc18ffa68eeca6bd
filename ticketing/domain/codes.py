"""Human identifiers of a ticket: the yearly number and the short tracking code."""

from __future__ import annotations

import secrets

# Crockford-style alphabet without I, L, O, U: no confusion when typed from a letter.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_LENGTH = 8  # 40 bits of randomness


def new_tracking_code() -> str:
    """A random code shown as ``ABCD-EFGH``."""
    raw = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_tracking_code(typed: str) -> str | None:
    """Read a code as a citizen types it (spaces, lower case, O for 0, I/L for 1)."""
    cleaned = "".join(ch for ch in typed.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(cleaned) != TRACKING_LENGTH or any(ch not in TRACKING_ALPHABET for ch in cleaned):
        return None
    return f"{cleaned[:4]}-{cleaned[4:]}"


def format_ticket_number(year: int, sequence: int) -> str:
    """Per-commune yearly number such as ``2026-000123``."""
    return f"{year}-{sequence:06d}"
