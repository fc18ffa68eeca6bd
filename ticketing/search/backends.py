"""The two index backends: which rows match a query, as SELECTs of ids to combine in SQL.

SQLite: FTS5 tables named after what they index (``search_tickets`` …), whose rowid is
the indexed row's id and whose text is the stems of ``ticketing.search.text``; the query
is stemmed the same way and every stem must be found in one of them (the ticket's
subject and place, one message, or the citizen). PostgreSQL: ``tickets.search_vector``
(the ticket, its citizen and its whole thread, kept by triggers), matched by
``plainto_tsquery('french', search_fold(query))``: every word must be found in the ticket,
wherever (stop words aside).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, column, literal_column, select, table, text, union
from sqlalchemy.sql.elements import ColumnElement

from ticketing.models import Citizen, ThreadEntry, Ticket
from ticketing.search.text import stems


@dataclass(frozen=True)
class Terms:
    """What to look for in the index: words, or a phone number (digits only)."""

    words: str = ""
    phone: str = ""


class SqliteIndex:
    """FTS5 tables, one per indexed table; each must hold every word (one same place)."""

    @staticmethod
    def _match_expression(words: str) -> str | None:
        found = list(dict.fromkeys(stems(words)))
        return " ".join(f'"{stem}"' for stem in found) or None  # stems are [0-9a-z]+

    def _rowids(self, index: str, match: str) -> Select[tuple[int]]:
        fts = table(index, column("rowid"))
        return select(fts.c.rowid).where(
            text(f"{index} MATCH :match").bindparams(bindparam("match", match)))

    def _sources(self, terms: Terms) -> list[Select[tuple[int]]]:
        if terms.phone:
            return [select(Ticket.id).where(Ticket.citizen_id.in_(
                self._rowids("search_citizens", f'phone : "{terms.phone}"')))]
        match = self._match_expression(terms.words)
        if match is None:
            return []
        return [
            self._rowids("search_tickets", match),
            select(ThreadEntry.ticket_id).where(
                ThreadEntry.id.in_(self._rowids("search_entries", match))),
            select(Ticket.id).where(Ticket.citizen_id.in_(self._rowids("search_citizens", match))),
        ]

    def ticket_condition(
        self, terms: Terms, lower: int | None, upper: int
    ) -> ColumnElement[bool] | None:
        """Tickets matching ``terms`` with ``lower <= id < upper``: the bounds are set in
        every source, so that each reads only its window of its index."""
        bounded = []
        for source in self._sources(terms):
            ticket_id = source.selected_columns[0]
            source = source.where(ticket_id < upper)
            if lower is not None:
                source = source.where(ticket_id >= lower)
            bounded.append(source.correlate(None))
        if not bounded:
            return None
        return Ticket.id.in_(bounded[0] if len(bounded) == 1 else union(*bounded))

    def citizen_condition(self, terms: Terms) -> ColumnElement[bool] | None:
        if terms.phone:
            return Citizen.id.in_(self._rowids("search_citizens", f'phone : "{terms.phone}"'))
        match = self._match_expression(terms.words)
        return None if match is None else Citizen.id.in_(self._rowids("search_citizens", match))


class PostgresIndex:
    """``tickets.search_vector`` holds the ticket, its citizen and its whole thread."""

    @staticmethod
    def _query(terms: Terms) -> ColumnElement[object]:
        if terms.phone:
            return text("plainto_tsquery('simple', :phone)").bindparams(phone=terms.phone)
        return text("plainto_tsquery('french', search_fold(lower(:words)))").bindparams(
            words=terms.words)

    def _matches(self, table_name: str, terms: Terms) -> ColumnElement[bool] | None:
        if not terms.phone and not stems(terms.words):
            return None
        vector = literal_column(f"{table_name}.search_vector")
        return vector.op("@@")(self._query(terms))  # type: ignore[return-value]

    def ticket_condition(
        self, terms: Terms, lower: int | None, upper: int
    ) -> ColumnElement[bool] | None:
        return self._matches("tickets", terms)  # the caller bounds the ids

    def citizen_condition(self, terms: Terms) -> ColumnElement[bool] | None:
        return self._matches("citizens", terms)


def index_for(dialect: str) -> SqliteIndex | PostgresIndex:
    if dialect == "postgresql":
        return PostgresIndex()
    if dialect == "sqlite":
        return SqliteIndex()
    raise NotImplementedError(f"no search index for {dialect}")
