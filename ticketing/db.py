"""The database handle shared by models and use cases, and its engine settings."""

from __future__ import annotations

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and SQLAlchemy's documented pysqlite SAVEPOINT fix.

    pysqlite starts transactions lazily by itself, which breaks SAVEPOINT; we
    let SQLAlchemy emit the BEGIN instead. It is IMMEDIATE: a deferred
    transaction that reads then writes fails at once with "database is locked"
    when another writer got there first, whereas IMMEDIATE waits its turn
    (busy_timeout). SQLite thus serialises transactions; PostgreSQL is the
    database for deployments with real concurrency.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
