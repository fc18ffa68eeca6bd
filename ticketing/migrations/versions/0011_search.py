"""Full-text search index (SQLite FTS5 / PostgreSQL tsvector, French) and ticket links.

SQLite: one FTS5 external-content table per indexed table, fed by triggers with the
French stems computed by ``search_text()`` (a Python function registered on every SQLite
connection, see ticketing/search/sqlite_functions.py); ``unicode61 remove_diacritics 2``.
PostgreSQL: ``tickets.search_vector``, kept by triggers on tickets, thread entries and
citizens, holds ``to_tsvector('french', …)`` of the ticket's subject and place, its
citizen and its whole thread, over the text folded by ``search_fold()`` (lower case, no
accents; an IMMUTABLE SQL function, so no extension such as unaccent is needed), with a
GIN index; ``citizens.search_vector`` (generated) serves the list of citizens found.

Revision ID: 0011_search
Revises: 0010_validation
Create Date: 2026-11-28 01:30:00
"""

import sqlalchemy as sa
from alembic import op

from ticketing.models.base import UTCDateTime

revision = "0011_search"
down_revision = "0010_validation"
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

# The citizen's own vector (the search page's list of citizens): a generated column.
PG_CITIZEN_VECTOR = (
    "to_tsvector('french'::regconfig, search_fold(lower(coalesce(first_name, '') || ' ' || "
    "coalesce(last_name, '') || ' ' || coalesce(email, ''))))"
    f" || to_tsvector('simple'::regconfig, {PG_PHONE})"
)

# A ticket's vector holds its subject and place, its citizen's and every message of its
# thread (stripped of positions: its size is bounded by the vocabulary, not the thread).
PG_FUNCTIONS = [
    """CREATE FUNCTION search_words(value text) RETURNS tsvector
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
         SELECT strip(to_tsvector('french'::regconfig, search_fold(lower(coalesce(value, '')))))
       $$""",
    """CREATE FUNCTION search_citizen(citizen integer) RETURNS tsvector
       LANGUAGE sql STABLE AS $$
         SELECT coalesce((SELECT strip(search_vector) FROM citizens WHERE id = citizen),
                         ''::tsvector)
       $$""",
    """CREATE FUNCTION search_thread(ticket integer) RETURNS tsvector
       LANGUAGE sql STABLE AS $$
         SELECT coalesce(search_words(string_agg(subject || ' ' || body, ' ')), ''::tsvector)
         FROM thread_entries WHERE ticket_id = ticket
       $$""",
    """CREATE FUNCTION search_document(ticket integer) RETURNS tsvector
       LANGUAGE sql STABLE AS $$
         SELECT search_words(subject || ' ' || coalesce(location, ''))
                || search_citizen(citizen_id) || search_thread(id)
         FROM tickets WHERE id = ticket
       $$""",
    """CREATE FUNCTION search_tickets_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.search_vector := search_words(NEW.subject || ' ' || coalesce(NEW.location, ''))
                              || search_citizen(NEW.citizen_id);
         IF TG_OP = 'UPDATE' THEN
           NEW.search_vector := NEW.search_vector || search_thread(NEW.id);
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE FUNCTION search_entries_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           UPDATE tickets SET search_vector = coalesce(search_vector, ''::tsvector)
                                              || search_words(NEW.subject || ' ' || NEW.body)
           WHERE id = NEW.ticket_id;
         ELSIF TG_OP = 'UPDATE' THEN
           UPDATE tickets SET search_vector = search_document(id)
           WHERE id IN (OLD.ticket_id, NEW.ticket_id);
         ELSE
           UPDATE tickets SET search_vector = search_document(id) WHERE id = OLD.ticket_id;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION search_citizens_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE tickets SET search_vector = search_document(id) WHERE citizen_id = NEW.id;
         RETURN NULL;
       END $$""",
]
PG_TRIGGERS = [
    "CREATE TRIGGER search_tickets BEFORE INSERT OR UPDATE OF subject, location, citizen_id "
    "ON tickets FOR EACH ROW EXECUTE FUNCTION search_tickets_trigger()",
    "CREATE TRIGGER search_entries AFTER INSERT OR DELETE OR UPDATE OF ticket_id, subject, body "
    "ON thread_entries FOR EACH ROW EXECUTE FUNCTION search_entries_trigger()",
    "CREATE TRIGGER search_citizens AFTER UPDATE OF first_name, last_name, email, phone "
    "ON citizens FOR EACH ROW WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name "
    "OR OLD.last_name IS DISTINCT FROM NEW.last_name OR OLD.email IS DISTINCT FROM NEW.email "
    "OR OLD.phone IS DISTINCT FROM NEW.phone) EXECUTE FUNCTION search_citizens_trigger()",
]
PG_FUNCTION_NAMES = ["search_tickets_trigger()", "search_entries_trigger()",
                     "search_citizens_trigger()", "search_document(integer)",
                     "search_thread(integer)", "search_citizen(integer)", "search_words(text)",
                     "search_fold(text)"]


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
    op.execute("ALTER TABLE citizens ADD COLUMN search_vector tsvector "
               f"GENERATED ALWAYS AS ({PG_CITIZEN_VECTOR}) STORED")
    op.execute("CREATE INDEX ix_search_citizens ON citizens USING gin (search_vector)")
    op.execute("ALTER TABLE tickets ADD COLUMN search_vector tsvector")
    for statement in PG_FUNCTIONS + PG_TRIGGERS:
        op.execute(statement)
    op.execute("UPDATE tickets SET search_vector = search_document(id)")
    op.execute("CREATE INDEX ix_search_tickets ON tickets USING gin (search_vector)")


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
        op.execute("DROP TRIGGER IF EXISTS search_tickets ON tickets")
        op.execute("DROP TRIGGER IF EXISTS search_entries ON thread_entries")
        op.execute("DROP TRIGGER IF EXISTS search_citizens ON citizens")
        for table in ("tickets", "citizens"):
            op.execute(f"DROP INDEX IF EXISTS ix_search_{table}")
            op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
        for function in PG_FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_index("ix_ticket_links_other", table_name="ticket_links")
    op.drop_index("ix_ticket_links_commune_id", table_name="ticket_links")
    op.drop_table("ticket_links")
