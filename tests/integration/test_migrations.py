"""The Alembic migrations build exactly the schema the models describe (an ``alembic check``)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ticketing.migrate import current_heads, expected_heads, upgrade
from ticketing.models import Base
from ticketing.search.schema import is_search_object


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return {name for name in names if not is_search_object(name)}  # the search index
    finally:
        engine.dispose()


def test_upgrade_on_an_empty_database_creates_every_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    assert _tables(url) == set()

    upgrade(url)

    assert _tables(url) == set(Base.metadata.tables)
    assert current_heads(url) == expected_heads()


def test_upgrade_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.sqlite3'}"
    upgrade(url)
    upgrade(url)
    assert current_heads(url) == expected_heads()


def test_test_database_is_at_head_with_the_models_tables(database_url: str) -> None:
    assert current_heads(database_url) == expected_heads()
    assert _tables(database_url) == set(Base.metadata.tables)


def test_models_and_migrations_agree(database_url: str) -> None:
    """No difference left for autogenerate: a model change needs its migration."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "target_metadata": Base.metadata,
                                  # the search index is the database's own (ticketing/search)
                                  "include_name": lambda name, *_: not is_search_object(name)})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models differ from the migrations; run alembic revision --autogenerate"


def test_sqlite_search_triggers_survive_every_migration(tmp_path: Path) -> None:
    """A later migration that rebuilds tickets, thread_entries or citizens in SQLite's batch
    mode drops their triggers: the search index would then silently stop following them."""
    import sqlite3

    path = tmp_path / "triggers.sqlite3"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        triggers = {row[0]: row[1] for row in connection.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")}
    expected = {f"search_{index}_{event}": table
                for index, table in (("tickets", "tickets"), ("entries", "thread_entries"),
                                     ("citizens", "citizens"))
                for event in ("insert", "delete", "update")}
    assert {name: triggers.get(name) for name in expected} == expected
