"""What a tracking code shows its holder: their own request, or the ticket it was merged into.

A merged duplicate and the ticket kept usually belong to different citizens, so the
holder of either code sees:

- of their own request: its number, subject, category, date of receipt and legal mentions;
- of the ticket now handling it (itself, or the ticket kept): its number, status, answer
  due date and service in charge — facts about the commune's work, nothing about a person;
- of the thread: their own messages and the commune's replies to them, in full; for a merged
  duplicate, the commune's replies to someone else only as a dated line, content withheld.

Never shown: another citizen's messages, the content of replies written to them (they open
with that citizen's name and end with their tracking code, which with their name opens their
tracking page), that citizen's name, contact details, address, subject or tracking code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.models import EntryKind, ThreadEntry, Ticket
from ticketing.operations.merge import entries_merged_in, entries_merged_out, surviving_ticket


@dataclass(frozen=True)
class ThreadLine:
    entry: ThreadEntry
    own: bool  # False: the commune's reply to another citizen, shown by its date only


@dataclass(frozen=True)
class TrackedRequest:
    ticket: Ticket  # the request the tracking code belongs to
    handled_by: Ticket  # the ticket handling it now: ``ticket`` itself unless merged
    thread: list[ThreadLine]

    @property
    def merged(self) -> bool:
        return self.handled_by.id != self.ticket.id


def tracked_request(session: Session, ticket: Ticket) -> TrackedRequest:
    """What the holder of ``ticket``'s tracking code may see (see the module docstring)."""
    handled_by = surviving_ticket(session, ticket)
    merged = handled_by.id != ticket.id
    others = entries_merged_in(session, ticket)  # from duplicates merged into this one
    own_if_merged = entries_merged_out(session, ticket) - others
    entries = session.scalars(
        select(ThreadEntry)
        .where(
            ThreadEntry.ticket_id == handled_by.id,
            ThreadEntry.commune_id == handled_by.commune_id,
            ThreadEntry.kind.in_((EntryKind.INBOUND, EntryKind.REPLY)),
        )
        .order_by(ThreadEntry.created_at, ThreadEntry.id)
    )
    thread = []
    for entry in entries:
        own = entry.id in own_if_merged if merged else entry.id not in others
        if own or (merged and entry.kind == EntryKind.REPLY):
            thread.append(ThreadLine(entry, own))
    return TrackedRequest(ticket, handled_by, thread)
