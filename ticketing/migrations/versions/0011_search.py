"""Full-text search index (SQLite FTS5 / PostgreSQL tsvector, French) and ticket links.

SQLite: one FTS5 external-content table per indexed table, fed by triggers with the
French stems computed by ``search_text()`` (a Python function registered on every SQLite
connection, see ticketing/search/sqlite_functions.py); ``unicode61 remove_diacritics 2``.
PostgreSQL: a generated ``search_vector`` column per indexed table, ``to_tsvector('french',
…)`` over the text folded by ``search_fold()`` (lower case, no accents; an IMMUTABLE SQL
function, so no extension such as unaccent is needed), with a GIN index.

Revision ID: 0011_search
Revises: 0005_outbox_recipient
Create Date: 2026-11-28 01:30:00
"""

import sqlalchemy as sa
from alembic import op

from ticketing.models.base import UTCDateTime

revision = "0011_search"
down_revision = "0005_outbox_recipient"
branch_labels = None
depends_on = None

# Frozen copies of ticketing/search/schema.py at this revision.
SQLITE_INDEXES = {
    "search_tickets": ("tickets", ("subject", "location")),
    "search_entries": ("thread_entries", ("subject", "body")),
    "search_citizens": ("citizens", ("first_name", "last_name", "email", "phone")),
}
ACCENTED = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
UNACCENTED = "aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyy"

PG_FOLD = f"""
CREATE FUNCTION search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT translate(replace(replace(replace(replace(value, 'œ', 'oe'), 'Œ', 'oe'),
                                   'æ', 'ae'), 'Æ', 'ae'),
                   '{ACCENTED}', '{UNACCENTED}')
$$
"""

PG_PHONE = r"regexp_replace(regexp_replace(coalesce(phone, ''), '^\s*\+33', '0'), '[^0-9]', '', 'g')"

PG_VECTORS = {
    "tickets": "to_tsvector('french'::regconfig, search_fold(lower("
               "coalesce(subject, '') || ' ' || coalesce(location, ''))))",
    "thread_entries": "to_tsvector('french'::regconfig, search_fold(lower("
                      "coalesce(subject, '') || ' ' || coalesce(body, ''))))",
    "citizens": "to_tsvector('french'::regconfig, search_fold(lower(coalesce(first_name, '')"
                " || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, ''))))"
                f" || to_tsvector('simple'::regconfig, {PG_PHONE})",
}


def _value(table: str, column: str, row: str) -> str:
    function = "search_phone" if (table, column) == ("citizens", "phone") else "search_text"
    return f"{function}({row}.{column})"


def _sqlite_upgrade() -> None:
    from ticketing.search.sqlite_functions import register

    register(op.get_bind().connection.dbapi_connection)  # for the backfill below
    for index, (table, columns) in SQLITE_INDEXES.items():
        names = ", ".join(columns)
        op.execute(f"CREATE VIRTUAL TABLE {index} USING fts5({names}, content='{table}', "
                   "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
        new = ", ".join(_value(table, c, "new") for c in columns)
        old = ", ".join(_value(table, c, "old") for c in columns)
        insert = f"INSERT INTO {index}(rowid, {names}) VALUES (new.id, {new});"
        delete = f"INSERT INTO {index}({index}, rowid, {names}) VALUES ('delete', old.id, {old});"
        op.execute(f"CREATE TRIGGER {index}_insert AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN {delete} END")
        op.execute(f"CREATE TRIGGER {index}_update AFTER UPDATE OF {names} ON {table} "
                   f"BEGIN {delete} {insert} END")
        backfill = ", ".join(_value(table, c, table) for c in columns)
        op.execute(f"INSERT INTO {index}(rowid, {names}) SELECT id, {backfill} FROM {table}")


def _postgresql_upgrade() -> None:
    op.execute(PG_FOLD)
    for table, vector in PG_VECTORS.items():
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                   f"GENERATED ALWAYS AS ({vector}) STORED")
        op.execute(f"CREATE INDEX ix_search_{table} ON {table} USING gin (search_vector)")


def upgrade() -> None:
    op.create_table(
        "ticket_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("other_ticket_id", sa.Integer(),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_by_agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("communes.id"), nullable=False),
        sa.UniqueConstraint("ticket_id", "other_ticket_id", name="uq_ticket_links_pair"),
    )
    op.create_index("ix_ticket_links_commune_id", "ticket_links", ["commune_id"])
    op.create_index("ix_ticket_links_other", "ticket_links", ["other_ticket_id"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_upgrade()
    elif dialect == "postgresql":
        _postgresql_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for index, (table, _columns) in SQLITE_INDEXES.items():
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {index}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {index}")
    elif dialect == "postgresql":
        for table in PG_VECTORS:
            op.execute(f"DROP INDEX IF EXISTS ix_search_{table}")
            op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP FUNCTION IF EXISTS search_fold(text)")
    op.drop_index("ix_ticket_links_other", table_name="ticket_links")
    op.drop_index("ix_ticket_links_commune_id", table_name="ticket_links")
    op.drop_table("ticket_links")
