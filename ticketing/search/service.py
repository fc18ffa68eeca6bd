"""The one search interface: tickets (and citizens) matching what an agent typed, limited
in SQL to the tickets the agent may view, newest first, paged by keyset on the id.

What is typed is looked up as a ticket number ("2026-000123", "2026-123"), as a tracking
code ("ABCD-EFGH", however typed), as a phone number when it is digits only, and otherwise
as words in the full-text index: subject and place of the ticket, every message of its
thread (internal notes included: agents search), and the citizen's name and e-mail.
Every word must be found in one same place: the ticket's subject and place, one message,
or the citizen's name and e-mail (a limit: "Martin lampadaire" does not combine the
citizen's name with the words of a message).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, union
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


def visible_tickets(commune_id: int, services: Collection[str]) -> ColumnElement[bool]:
    """Tickets of the commune the agent may view: of its services, or copied to one of them."""
    wanted = sorted(services)
    copied = select(TicketCopy.ticket_id).where(
        TicketCopy.commune_id == commune_id, TicketCopy.service_code.in_(wanted)
    ).correlate(None)
    return (Ticket.commune_id == commune_id) & or_(Ticket.service_code.in_(wanted),
                                                   Ticket.id.in_(copied))


def _identifier_ids(commune_id: int, query: str) -> Select[tuple[int]] | None:
    """The ticket whose number or tracking code is ``query``, if it reads as one."""
    conditions = []
    number = _NUMBER.fullmatch(query)
    if number:
        conditions.append(Ticket.number == f"{number.group(1)}-{int(number.group(2)):06d}")
    code = normalise_tracking_code(query)
    if code:
        conditions.append(Ticket.tracking_code == code)
    if not conditions:
        return None
    return select(Ticket.id).where(Ticket.commune_id == commune_id, or_(*conditions))


def search(
    session: Session, commune_id: int, query: str, services: Collection[str],
    before: int | None = None, page_size: int = PAGE_SIZE,
) -> SearchResults:
    query = " ".join(query.split())[:MAX_QUERY_LENGTH]
    if not query or not services:
        return SearchResults([], [], None)
    terms = terms_of(query)
    sources = index_for(session.get_bind().dialect.name).ticket_ids(terms)
    identifiers = _identifier_ids(commune_id, query)
    if identifiers is not None:
        sources.append(identifiers)
    if not sources:
        return SearchResults([], [], None)
    upper = before if before is not None else (session.scalar(select(func.max(Ticket.id))) or 0) + 1
    rows: list[Ticket] = []
    for span in (*WINDOWS, None):
        lower = None if span is None else upper - span
        rows = list(session.scalars(_page_statement(commune_id, services, sources, lower, upper,
                                                    page_size)))
        if len(rows) > page_size or lower is None or lower <= 1:
            break
    next_before = rows[page_size - 1].id if len(rows) > page_size else None
    citizens = [] if before is not None else _citizens(session, commune_id, terms, services)
    return SearchResults(rows[:page_size], citizens, next_before)


def _page_statement(
    commune_id: int, services: Collection[str], sources: list[Select[tuple[int]]],
    lower: int | None, upper: int, page_size: int,
) -> Select[tuple[Ticket]]:
    """The newest visible tickets matched by ``sources`` with ``lower <= id < upper``.

    The bounds are set inside every source, so that each reads only its window of its
    index rather than every match (a common word matches tens of thousands of tickets).
    """
    bounded = []
    for source in sources:
        ticket_id = source.selected_columns[0]
        source = source.where(ticket_id < upper)
        if lower is not None:
            source = source.where(ticket_id >= lower)
        bounded.append(source.correlate(None))
    matching = bounded[0] if len(bounded) == 1 else union(*bounded)
    return (
        select(Ticket)
        .where(visible_tickets(commune_id, services), Ticket.id.in_(matching),
               Ticket.id < upper)
        .options(lazyload(Ticket.assignee))
        .order_by(Ticket.id.desc())
        .limit(page_size + 1)
    )


def _citizens(
    session: Session, commune_id: int, terms: Terms, services: Collection[str]
) -> list[Citizen]:
    """Citizens matching by name, e-mail or phone who have a ticket the agent may view."""
    condition = index_for(session.get_bind().dialect.name).citizen_condition(terms)
    if condition is None:
        return []
    has_visible = exists().where(Ticket.citizen_id == Citizen.id,
                                 visible_tickets(commune_id, services))
    return list(session.scalars(
        select(Citizen).where(Citizen.commune_id == commune_id, condition, has_visible)
        .order_by(Citizen.last_name, Citizen.first_name, Citizen.id).limit(CITIZENS_SHOWN)
    ))
