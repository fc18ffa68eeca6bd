"""The one search interface: tickets (and citizens) matching what an agent typed, limited
in SQL to the tickets the agent may view, newest first, paged by keyset on the id.

What is typed is looked up as a ticket number ("2026-000123", "2026-123"), as a tracking
code ("ABCD-EFGH", however typed), as a phone number when it is digits only, and otherwise
as words in the full-text index: subject and place of the ticket, every message of its
thread (internal notes included: agents search), and the citizen's name and e-mail.
Every word must be found: on PostgreSQL anywhere in the ticket, its thread and its citizen;
on SQLite in one same place (the ticket's subject and place, one message, or the citizen).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session, lazyload

from ticketing.domain.codes import normalise_tracking_code
from ticketing.models import Citizen, Ticket, TicketCopy
from ticketing.search.backends import Terms, index_for
from ticketing.search.text import phone_digits

PAGE_SIZE = 20
# Id spans searched first, newest tickets first: a common word fills a page from the most
# recent tickets without reading all its matches; a rare one goes on to the whole table.
WINDOWS = (2_000, 50_000)
CITIZENS_SHOWN = 10
MAX_QUERY_LENGTH = 200

_NUMBER = re.compile(r"(\d{4})-(\d{1,6})")
_PHONE = re.compile(r"\+?[\d .\-()]{6,}")


@dataclass(frozen=True)
class SearchResults:
    tickets: list[Ticket]
    citizens: list[Citizen]  # on the first page only
    next_before: int | None  # the ``before`` of the next page; None on the last one


def terms_of(query: str) -> Terms:
    if _PHONE.fullmatch(query) and len(phone_digits(query)) >= 6 and not _NUMBER.fullmatch(query):
        return Terms(phone=phone_digits(query))
    return Terms(words=query)


def visible_tickets(
    session: Session, commune_id: int, services: Collection[str]
) -> ColumnElement[bool]:
    """Tickets of the commune the agent may view: of its services, or copied to one of them
    (that second clause only when such copies exist: without it the condition is the one
    the queue index answers)."""
    wanted = sorted(services)
    condition = (Ticket.commune_id == commune_id) & Ticket.service_code.in_(wanted)
    copies = select(TicketCopy.ticket_id).where(
        TicketCopy.commune_id == commune_id, TicketCopy.service_code.in_(wanted))
    if session.scalar(copies.limit(1)) is None:
        return condition
    return (Ticket.commune_id == commune_id) & or_(
        Ticket.service_code.in_(wanted), Ticket.id.in_(copies.correlate(None)))


def _identifier_condition(query: str) -> ColumnElement[bool] | None:
    """The ticket whose number or tracking code is ``query``, if it reads as one."""
    conditions = []
    number = _NUMBER.fullmatch(query)
    if number:
        conditions.append(Ticket.number == f"{number.group(1)}-{int(number.group(2)):06d}")
    code = normalise_tracking_code(query)
    if code:
        conditions.append(Ticket.tracking_code == code)
    return or_(*conditions) if conditions else None


def search(
    session: Session, commune_id: int, query: str, services: Collection[str],
    before: int | None = None, page_size: int = PAGE_SIZE,
) -> SearchResults:
    query = " ".join(query.split())[:MAX_QUERY_LENGTH]
    if not query or not services:
        return SearchResults([], [], None)
    index = index_for(session.get_bind().dialect.name)
    terms = terms_of(query)
    identifiers = _identifier_condition(query)
    if index.ticket_condition(terms, None, 1) is None and identifiers is None:
        return SearchResults([], [], None)
    visible = visible_tickets(session, commune_id, services)
    upper = before if before is not None else (session.scalar(select(func.max(Ticket.id))) or 0) + 1
    rows: list[Ticket] = []
    for span in (*WINDOWS, None):
        lower = None if span is None else upper - span
        matching = [c for c in (index.ticket_condition(terms, lower, upper), identifiers)
                    if c is not None]
        window = [Ticket.id < upper] + ([] if lower is None else [Ticket.id >= lower])
        # Every match of the window first (MATERIALIZED): given ORDER BY id DESC LIMIT n,
        # PostgreSQL would otherwise walk the primary key backwards hoping for n matches
        # soon, and read the whole table when the agent can see none of them.
        matches = (select(Ticket.id).where(visible, or_(*matching), *window)
                   .cte("matches").prefix_with("MATERIALIZED"))
        rows = list(session.scalars(
            select(Ticket).where(Ticket.id.in_(select(matches.c.id)))
            .options(lazyload(Ticket.assignee))
            .order_by(Ticket.id.desc()).limit(page_size + 1)))
        if len(rows) > page_size or lower is None or lower <= 1:
            break
    next_before = rows[page_size - 1].id if len(rows) > page_size else None
    citizens = [] if before is not None else _citizens(session, commune_id, terms, visible)
    return SearchResults(rows[:page_size], citizens, next_before)


def _citizens(
    session: Session, commune_id: int, terms: Terms, visible: ColumnElement[bool]
) -> list[Citizen]:
    """Citizens matching by name, e-mail or phone who have a ticket the agent may view."""
    condition = index_for(session.get_bind().dialect.name).citizen_condition(terms)
    if condition is None:
        return []
    has_visible = exists().where(Ticket.citizen_id == Citizen.id, visible)
    return list(session.scalars(
        select(Citizen).where(Citizen.commune_id == commune_id, condition, has_visible)
        .order_by(Citizen.last_name, Citizen.first_name, Citizen.id).limit(CITIZENS_SHOWN)
    ))
