"""Message-IDs: the normal form we compare them in, and the signed ids of the mail we send.

An outgoing id ``aig.<commune>.<ticket>.<nonce>.<hmac>@<domain>`` lets an inbound reply find
its ticket through In-Reply-To/References; the HMAC makes a forged id worthless. The domain is
informational: only the signature is trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "aig"
SIGNATURE_HEX = 20  # 80 bits of HMAC-SHA256: far beyond guessing by mail
MAX_ID_LENGTH = 500  # the inbound record's column; longer ids are garbage
MAX_REFERENCES = 50  # a thread's latest ids are at the end of References

_NONCE = re.compile(r"[0-9a-z]{1,32}")
_SIGNED = re.compile(
    rf"{PREFIX}\.(0|[1-9][0-9]{{0,17}})\.(0|[1-9][0-9]{{0,17}})\.([0-9a-z]{{1,32}})"
    rf"\.([0-9a-f]{{{SIGNATURE_HEX}}})"
)
_BRACKETED = re.compile(r"<([^<>]*)>")


def normalise_message_id(value: str | None) -> str | None:
    """``<Abc@Example.ORG >`` → ``Abc@example.org``; None when nothing usable is left."""
    if not value:
        return None
    found = _BRACKETED.search(value)
    inner = found.group(1) if found else value
    inner = "".join(inner.split()).strip("<>")
    if not inner or len(inner) > MAX_ID_LENGTH or not inner.isprintable():
        return None
    local, at, domain = inner.rpartition("@")
    return f"{local}@{domain.lower()}" if at and local else inner


def parse_message_id_list(value: str | None, limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """The ids of an In-Reply-To or References header, normalised, deduplicated, the last
    ``limit`` kept (the most recent ones)."""
    if not value:
        return ()
    tokens = _BRACKETED.findall(value) or value.split()
    ids: list[str] = []
    for token in tokens:
        normal = normalise_message_id(token)
        if normal and normal not in ids:
            ids.append(normal)
    return tuple(ids[-limit:])


def _signature(key: bytes, commune_id: int, ticket_id: int, nonce: str) -> str:
    payload = f"{commune_id}.{ticket_id}.{nonce}".encode("ascii")
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def outgoing_message_id(
    commune_id: int, ticket_id: int, key: bytes, domain: str, nonce: str | None = None
) -> str:
    """A signed id (without ``<>``) for a mail about ``ticket_id``; random nonce by default."""
    for name, number in (("commune_id", commune_id), ("ticket_id", ticket_id)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{name} must be a non-negative integer")
    if not key:
        raise ValueError("an empty key would sign nothing")
    nonce = secrets.token_hex(4) if nonce is None else nonce
    if not _NONCE.fullmatch(nonce):
        raise ValueError("nonce: 1 to 32 characters among 0-9 a-z")
    domain = domain.strip().lower()
    if not domain or any(ch in domain for ch in "<>@ \t\r\n"):
        raise ValueError("domain must be a bare domain name")
    signature = _signature(key, commune_id, ticket_id, nonce)
    return f"{PREFIX}.{commune_id}.{ticket_id}.{nonce}.{signature}@{domain}"


def looks_signed(message_id: str) -> bool:
    """Has the shape of one of our ids (signature not checked)."""
    local = message_id.strip().strip("<>").rpartition("@")[0].lower()
    return _SIGNED.fullmatch(local) is not None


def claimed_ticket(message_id: str) -> tuple[int, int] | None:
    """The (commune, ticket) an id of our shape *claims*, signature not checked."""
    local = message_id.strip().strip("<>").rpartition("@")[0].lower()
    match = _SIGNED.fullmatch(local)
    return (int(match.group(1)), int(match.group(2))) if match else None


def verify_message_id(message_id: str, key: bytes) -> tuple[int, int] | None:
    """``(commune_id, ticket_id)`` when ``message_id`` carries our valid signature, else None."""
    if not isinstance(message_id, str) or not key:
        return None
    normal = normalise_message_id(message_id)
    if not normal or "@" not in normal:
        return None
    local, _, domain = normal.rpartition("@")
    match = _SIGNED.fullmatch(local.lower())
    if not match or not domain:
        return None
    commune_id, ticket_id = int(match.group(1)), int(match.group(2))
    expected = _signature(key, commune_id, ticket_id, match.group(3))
    if not hmac.compare_digest(expected, match.group(4)):
        return None
    return commune_id, ticket_id
