"""Database tables of Aiguillage (SQLAlchemy 2 declarative models)."""

from ticketing import tenancy  # noqa: F401  (installs the commune filter on every session)
from ticketing.models.accounts import PasswordToken
from ticketing.models.audit import AuditEvent, AuditTampering
from ticketing.models.base import Base, TenantScoped, utcnow
from ticketing.models.commune import CommuneRecord, TicketCounter
from ticketing.models.contacts import TicketContact
from ticketing.models.dispatch import Forwarding, TicketCopy, TicketSplit, TicketViewing
from ticketing.models.drafts import OPEN_DRAFT_STATES, DraftState, ReplyDraft
from ticketing.models.links import LinkKind, TicketLink
from ticketing.models.mail import (
    InboundMessage,
    InboundStatus,
    MailboxState,
    MailFailure,
    MailLease,
)
from ticketing.models.notification import Notification
from ticketing.models.outbox import OutboxMessage, OutboxStatus
from ticketing.models.people import Agent, Citizen, Membership
from ticketing.models.registration import RegisterCounter, RegisterEntry
from ticketing.models.ticket import (
    OPEN_STATUSES,
    Attachment,
    EntryKind,
    Status,
    ThreadEntry,
    Ticket,
)
from ticketing.search import sqlite_functions  # noqa: F401  (the SQLite index's functions)

__all__ = [
    "OPEN_STATUSES", "Agent", "Attachment", "AuditEvent", "AuditTampering", "Base", "Citizen",
    "CommuneRecord", "EntryKind", "InboundMessage", "InboundStatus", "MailFailure", "MailLease",
    "MailboxState", "Membership", "Notification", "OutboxMessage", "OutboxStatus", "PasswordToken",
    "RegisterCounter", "RegisterEntry", "Status",
    "TenantScoped", "ThreadEntry", "Ticket", "TicketContact", "TicketCounter", "utcnow",
    "Forwarding", "TicketCopy", "TicketSplit", "TicketViewing",
    "OPEN_DRAFT_STATES", "DraftState", "ReplyDraft",
    "LinkKind", "TicketLink",
]
