"""Per-commune yearly ticket numbers, safe under concurrent intake."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ticketing.models import TicketCounter


def next_sequence(
    session: Session, commune_id: int, year: int, counters: Table | None = None
) -> int:
    """Increment and return the commune's counter for ``year`` in one atomic statement;
    ``counters``: another table of (commune_id, year, last_value) than the ticket numbers'."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = counters if counters is not None else TicketCounter.__table__
    statement = (
        insert(table)
        .values(commune_id=commune_id, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.commune_id, table.c.year],
            set_={"last_value": table.c.last_value + 1},
        )
        .returning(table.c.last_value)
    )
    return int(session.execute(statement).scalar_one())
