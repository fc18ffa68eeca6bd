"""The SQL functions the SQLite search triggers call, on every SQLite connection.

FTS5 has no French stemmer: the triggers of migration 0011 index
``search_text(column)`` (the stems of ``ticketing.search.text``) and
``search_phone(column)`` (digits only). A connection must therefore have these functions
to write tickets, thread entries or citizens; this module registers them on every SQLite
connection SQLAlchemy opens, and ``ticketing.models`` imports it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from ticketing.search.text import index_text, phone_digits


def register(connection: sqlite3.Connection) -> None:
    connection.create_function("search_text", 1, index_text, deterministic=True)
    connection.create_function("search_phone", 1, phone_digits, deterministic=True)


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        register(dbapi_connection)
