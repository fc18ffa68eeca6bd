"""The database objects of the search index, which the models do not describe.

They are maintained by the database (triggers, generated columns), never written by the
application; ``is_search_object`` lets schema comparisons leave them out.
"""

from __future__ import annotations

from ticketing.search.text import fold

PREFIX = "search_"  # FTS5 tables (and their shadow tables), columns, triggers, functions

# What each indexed table contributes: SQLite FTS5 table -> (content table, columns).
SQLITE_INDEXES = {
    "search_tickets": ("tickets", ("subject", "location")),
    "search_entries": ("thread_entries", ("subject", "body")),
    "search_citizens": ("citizens", ("first_name", "last_name", "email", "phone")),
}

# Characters PostgreSQL's ``search_fold`` replaces one for one (ligatures are spelt out).
ACCENTED = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
UNACCENTED = "".join(fold(ch) for ch in ACCENTED)


def is_search_object(name: str | None) -> bool:
    return bool(name) and (name.startswith(PREFIX) or name.startswith("ix_" + PREFIX))
