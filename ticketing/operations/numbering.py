"""Per-commune yearly ticket numbers, safe under concurrent intake."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Insert

from ticketing.models import TicketCounter
from ticketing.models.audit import lock_chain_head


def next_sequence(
    session: Session, commune_id: int, year: int, counters: Table | None = None,
    count: int = 1,
) -> int:
    """Increment the commune's counter for ``year`` by ``count`` in one atomic statement and
    return its new value, the last of the ``count`` numbers taken; ``counters``: another
    (commune_id, year, last_value) table than the ticket numbers' (the register's chrono).

    The commune's audit chain head is locked first: every writer that also records an
    audit event then takes the two locks in the same order (no deadlock on PostgreSQL)."""
    lock_chain_head(session, commune_id)
    statement = _upsert(session.get_bind().dialect.name,
                        counters if counters is not None else TicketCounter.__table__)
    return int(session.execute(statement, {"commune_id": commune_id, "year": year,
                                           "first": count, "step": count}).scalar_one())


@cache
def _upsert(dialect: str, table: Table) -> Insert:
    """Built once per dialect: intake runs for every mail of a large mailbox."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values(commune_id=bindparam("commune_id"), year=bindparam("year"),
                last_value=bindparam("first"))
        .on_conflict_do_update(
            index_elements=[table.c.commune_id, table.c.year],
            set_={"last_value": table.c.last_value + bindparam("step")},
        )
        .returning(table.c.last_value)
    )
