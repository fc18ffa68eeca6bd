"""Migration 0013: agents' TOTP secrets already stored in clear are encrypted with the app's
secret key, decrypted again by the downgrade, and left alone when no key is configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from alembic import command
from sqlalchemy import Boolean, Integer, String, column, create_engine, select, table, text
from sqlalchemy.engine import Engine

from ticketing.domain.secret_box import unseal
from ticketing.migrate import alembic_config, upgrade
from ticketing.models.base import UTCDateTime

BEFORE = "0012_mail_contacts"
AFTER = "0013_totp_secret_encryption"
KEY = "the-servers-secret-key"

# The tables as revision 0012 has them (the models may have moved on since).
communes = table("communes", column("id", Integer), column("slug", String),
                 column("name", String))
agents = table("agents", *(column(name, String) for name in (
    "email", "full_name", "title", "password_hash", "totp_secret")),
    column("id", Integer), column("commune_id", Integer), column("active", Boolean),
    column("session_epoch", Integer), column("created_at", UTCDateTime),
    column("totp_enabled_at", UTCDateTime))


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the tested kind: a private PostgreSQL schema, or a SQLite file."""
    url = os.environ.get("AIGUILLAGE_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'totp.sqlite3'}"
        return
    schema = f"aiguillage_totp_{os.getpid()}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No secret key in the environment, and a data folder without a key file."""
    monkeypatch.delenv("AIGUILLAGE_SECRET_KEY", raising=False)
    monkeypatch.setenv("AIGUILLAGE_DATA_DIR", str(tmp_path / "empty-data"))


def _enrolled_agent_before_0013(url: str, secret: str) -> Engine:
    upgrade(url, BEFORE)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(communes.insert().values(id=1, slug="c", name="C"))
        connection.execute(agents.insert().values(
            id=1, commune_id=1, email="a@c.example", full_name="A", title="",
            password_hash="!", active=True, created_at=datetime.now(UTC), session_epoch=0,
            totp_secret=secret, totp_enabled_at=datetime.now(UTC)))
    return engine


def _stored(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(select(agents.c.totp_secret)).scalar_one()


def test_existing_secrets_are_encrypted_and_decrypted_back(
        empty_database: str, no_key: None, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = pyotp.random_base32()
    engine = _enrolled_agent_before_0013(empty_database, secret)
    monkeypatch.setenv("AIGUILLAGE_SECRET_KEY", KEY)
    try:
        upgrade(empty_database, AFTER)
        sealed = _stored(engine)
        assert secret not in sealed
        assert unseal(sealed, KEY.encode()) == secret

        command.downgrade(alembic_config(empty_database), BEFORE)
        assert _stored(engine) == secret
    finally:
        engine.dispose()


def test_the_key_file_of_the_data_folder_is_used_like_the_app_does(
        empty_database: str, no_key: None, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    secret = pyotp.random_base32()
    engine = _enrolled_agent_before_0013(empty_database, secret)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret_key").write_text(KEY + "\n")
    monkeypatch.setenv("AIGUILLAGE_DATA_DIR", str(tmp_path / "data"))
    try:
        upgrade(empty_database, AFTER)
        assert unseal(_stored(engine), KEY.encode()) == secret
    finally:
        engine.dispose()


def test_without_a_key_the_migration_stops_and_changes_nothing(
        empty_database: str, no_key: None) -> None:
    secret = pyotp.random_base32()
    engine = _enrolled_agent_before_0013(empty_database, secret)
    try:
        with pytest.raises(RuntimeError, match="AIGUILLAGE_SECRET_KEY"):
            upgrade(empty_database, AFTER)
        assert _stored(engine) == secret
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == BEFORE
    finally:
        engine.dispose()


def test_a_database_without_secrets_needs_no_key(empty_database: str, no_key: None) -> None:
    upgrade(empty_database)  # a new install: nothing to encrypt
