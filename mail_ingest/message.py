"""The plain data that flows between the mail stages: fetch → parse → decide → apply.

Each stage is testable alone: ``parse`` turns raw bytes into a ``ParsedMail``
(never raising on bad mail), ``decide`` turns a ``ParsedMail`` into a
``Decision`` (pure, given a ``ThreadLookup``), ``apply`` carries the decision
out through ticketing's use cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class AutomaticKind(StrEnum):
    """Why a mail is automatic: stored, never acknowledged, reopens nothing."""

    AUTO_REPLY = "auto_reply"  # Auto-Submitted, X-Autoreply, out-of-office…
    BULK = "bulk"  # Precedence bulk/junk, X-Auto-Response-Suppress…
    MAILING_LIST = "mailing_list"  # List-Id, List-Unsubscribe, Precedence: list
    BOUNCE = "bounce"  # delivery status notification, MAILER-DAEMON, empty Return-Path
    LOOP = "loop"  # our own loop header or one of our own addresses as sender


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # safe for storage and display (no path, no control characters)
    content_type: str  # as declared
    data: bytes
    content_id: str | None = None  # for cid: inline images, without <>
    inline: bool = False


@dataclass(frozen=True)
class ParsedMail:
    raw_sha256: str
    size: int
    message_id: str | None  # normalised: no <>, stripped, domain part lower-cased
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str | None  # the real address (lower-cased), whatever the display name
    from_name: str
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None  # aware
    text: str  # plain text: the text part, or the HTML turned into text
    html: str | None  # sanitised HTML (nh3), remote content removed; None if no HTML part
    remote_content_blocked: bool
    attachments: tuple[ParsedAttachment, ...]
    automatic: AutomaticKind | None
    bounced_message_ids: tuple[str, ...] = ()  # for bounces: the ids of our mail that bounced
    defects: tuple[str, ...] = field(default_factory=tuple)  # what was odd but survivable


class MailUnreadable(Exception):
    """The message cannot be parsed at all; the poller quarantines it with this reason."""


class DecisionKind(StrEnum):
    NEW_TICKET = "new_ticket"
    REPLY = "reply"  # joins an existing ticket of the same commune
    FOLLOW_UP = "follow_up"  # new ticket linked to an earlier one as "possible follow-up"
    AUTOMATIC = "automatic"  # stored, no acknowledgement, reopens nothing
    BOUNCE = "bounce"  # attached to the ticket whose mail bounced; citizen address flagged


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: str
    ticket_id: int | None = None  # REPLY, BOUNCE (when found), FOLLOW_UP (the earlier ticket)


@dataclass(frozen=True)
class KnownTicket:
    id: int
    commune_id: int
    tracking_code: str
    citizen_email: str | None
    contacts: tuple[str, ...] = ()  # authorised contacts' addresses, lower-cased


class ThreadLookup(Protocol):
    """What ``decide`` may ask of the database (implemented by the apply stage)."""

    def by_id(self, ticket_id: int) -> KnownTicket | None: ...

    def by_tracking_code(self, code: str) -> KnownTicket | None: ...

    def by_outgoing_message_id(self, message_id: str) -> KnownTicket | None: ...
