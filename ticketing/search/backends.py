"""The two index backends: which rows match a query, as SELECTs of ids to combine in SQL.

SQLite: FTS5 tables named after what they index (``search_tickets`` …), whose rowid is
the indexed row's id and whose text is the stems of ``ticketing.search.text``; the query
is stemmed the same way and every stem must be found. PostgreSQL: the generated
``search_vector`` columns, matched by ``plainto_tsquery('french', search_fold(query))``
(every word must be found, stop words aside).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, column, literal_column, select, table, text
from sqlalchemy.sql.elements import ColumnElement

from ticketing.models import Citizen, ThreadEntry, Ticket
from ticketing.search.text import stems


@dataclass(frozen=True)
class Terms:
    """What to look for in the index: words, or a phone number (digits only)."""

    words: str = ""
    phone: str = ""


class SqliteIndex:
    @staticmethod
    def _match_expression(words: str) -> str | None:
        found = list(dict.fromkeys(stems(words)))
        return " ".join(f'"{stem}"' for stem in found) or None  # stems are [0-9a-z]+

    def _rowids(self, index: str, match: str) -> Select[tuple[int]]:
        fts = table(index, column("rowid"))
        return select(fts.c.rowid).where(
            text(f"{index} MATCH :match").bindparams(bindparam("match", match)))

    def ticket_ids(self, terms: Terms) -> list[Select[tuple[int]]]:
        """SELECTs of the ids of the tickets whose own text, thread or citizen match."""
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

    def citizen_condition(self, terms: Terms) -> ColumnElement[bool] | None:
        if terms.phone:
            return Citizen.id.in_(self._rowids("search_citizens", f'phone : "{terms.phone}"'))
        match = self._match_expression(terms.words)
        return None if match is None else Citizen.id.in_(self._rowids("search_citizens", match))


class PostgresIndex:
    @staticmethod
    def _vector(table_name: str) -> ColumnElement[object]:
        return literal_column(f"{table_name}.search_vector")

    @staticmethod
    def _query(terms: Terms) -> ColumnElement[object]:
        if terms.phone:
            return text("plainto_tsquery('simple', :phone)").bindparams(phone=terms.phone)
        return text("plainto_tsquery('french', search_fold(lower(:words)))").bindparams(
            words=terms.words)

    def _matches(self, table_name: str, terms: Terms) -> ColumnElement[bool]:
        return self._vector(table_name).op("@@")(self._query(terms))  # type: ignore[return-value]

    def ticket_ids(self, terms: Terms) -> list[Select[tuple[int]]]:
        citizens = select(Citizen.id).where(self._matches("citizens", terms))
        by_citizen = select(Ticket.id).where(Ticket.citizen_id.in_(citizens))
        if terms.phone:
            return [by_citizen]
        if not stems(terms.words):
            return []
        return [
            select(Ticket.id).where(self._matches("tickets", terms)),
            select(ThreadEntry.ticket_id).where(self._matches("thread_entries", terms)),
            by_citizen,
        ]

    def citizen_condition(self, terms: Terms) -> ColumnElement[bool] | None:
        if not terms.phone and not stems(terms.words):
            return None
        return self._matches("citizens", terms)


def index_for(dialect: str) -> SqliteIndex | PostgresIndex:
    if dialect == "postgresql":
        return PostgresIndex()
    if dialect == "sqlite":
        return SqliteIndex()
    raise NotImplementedError(f"no search index for {dialect}")
