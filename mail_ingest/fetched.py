"""A message fetched from the mailbox: its bytes, their hash, and what parsing made of them."""

from __future__ import annotations

import hashlib
from email.parser import BytesHeaderParser

from mail_ingest.message import ParsedMail
from mail_ingest.parse import parse_mail
from ticketing.operations.outbox import LOOP_HEADER


class FetchedMail:
    """``raw`` is None when the message was too large to fetch (only its header is read)."""

    def __init__(self, uid: int, raw: bytes | None):
        self.uid, self.raw = uid, raw
        self.sha = hashlib.sha256(raw).hexdigest() if raw is not None else ""
        self.mail: ParsedMail | None = None
        self.error: Exception | None = None

    def parse(self, own_addresses: frozenset[str]) -> None:
        if self.raw is None:
            return
        try:
            self.mail = parse_mail(self.raw, own_addresses, LOOP_HEADER)
        except Exception as exc:  # noqa: BLE001 - MailUnreadable, or a parser bug: this mail's
            self.error = exc


def parse_header_only(header: bytes, own_addresses: frozenset[str]) -> ParsedMail | None:
    """The header of an oversized message, only to know whom to tell."""
    try:
        return parse_mail(header, own_addresses, LOOP_HEADER)
    except Exception:  # noqa: BLE001 - the header is only used to say who to tell
        return None


def headers_best_effort(raw: bytes) -> tuple[str, str]:
    """(From, Subject) of a mail that could not be parsed, for the quarantine list."""
    try:
        headers = BytesHeaderParser().parsebytes(raw[:65536])
        return str(headers.get("From", "") or ""), str(headers.get("Subject", "") or "")
    except Exception:  # noqa: BLE001 - only for display in the quarantine list
        return "", ""
