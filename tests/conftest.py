"""Shared fixtures: the database chosen by AIGUILLAGE_TEST_DATABASE_URL, the app, the client.

SQLite (a temp file) is the default; CI also runs the suite with
AIGUILLAGE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test.
The schema is built once per run by the Alembic migrations; every table is
emptied after each test.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ticketing.config import load_all
from ticketing.settings import REPO_ROOT, Settings

DEMO = "champignac-en-cambrousse"
OTHER = "trifouillis-les-oies"
DEMO_PASSWORD = "demo-aiguillage-2026"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("AIGUILLAGE_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    schema = None
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        # A private schema per run, so parallel runs on one database never collide.
        schema = f"aiguillage_test_{os.getpid()}"
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}options=-csearch_path%3D{schema}"
    from ticketing.migrate import upgrade

    upgrade(url)
    yield url
    if schema is not None:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def configs():  # type: ignore[no-untyped-def]
    return load_all(REPO_ROOT / "config")


def with_tile_url(configs, tile_url: str | None, commune: str = DEMO):  # type: ignore[no-untyped-def]
    """``configs`` with ``commune``'s map tiles set to ``tile_url`` (for an ``app`` override)."""
    config = configs[commune]
    settings = config.commune.map.model_copy(update={"tile_url": tile_url})
    return {**configs, commune: replace(
        config, commune=config.commune.model_copy(update={"map": settings}))}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    base = Settings.from_environment()
    return replace(
        base,
        database_url=database_url,
        config_dir=REPO_ROOT / "config",
        data_dir=tmp_path / "data",
        themes_dir=REPO_ROOT / "themes",
        secret_key="test-secret-key",
        ratelimit_storage_uri="memory://",
        smtp_host="127.0.0.1",
        smtp_port=1,  # nothing listens: tests that send mail start their own server
    )


@pytest.fixture
def app(settings: Settings, configs):  # type: ignore[no-untyped-def]
    from ticketing.web import create_app
    from ticketing.web.extensions import db, limiter

    app = create_app(settings, configs, overrides={"TESTING": True})
    limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        _empty_tables(db.engine)
        db.engine.dispose()


def _empty_tables(engine) -> None:  # type: ignore[no-untyped-def]
    """Empty every table between tests. A live server's last request may still be running
    in its thread after shutdown: on PostgreSQL, TRUNCATE can then meet its locks (deadlock
    or lock timeout), so it is tried again once that request is over."""
    from sqlalchemy.exc import OperationalError

    from ticketing.models import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(10):
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                    connection.execute(
                        text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                else:
                    for name in tables:
                        connection.execute(text(f"DELETE FROM {name}"))
            return
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.5)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def db_session(app):  # type: ignore[no-untyped-def]
    """The app's session inside an app context, for use-case tests."""
    from ticketing.web.extensions import db

    with app.app_context():
        yield db.session


@pytest.fixture
def demo_ctx(app):  # type: ignore[no-untyped-def]
    return app.extensions["aiguillage"].context(DEMO)


@pytest.fixture
def other_ctx(app):  # type: ignore[no-untyped-def]
    return app.extensions["aiguillage"].context(OTHER)


@pytest.fixture
def demo_accounts(app):  # type: ignore[no-untyped-def]
    from ticketing.demo import create_demo_accounts
    from ticketing.web.extensions import db

    with app.app_context():
        accounts = create_demo_accounts(db.session, app.extensions["aiguillage"].commune_ids)
        db.session.commit()
    return accounts


@pytest.fixture
def file_request(app):  # type: ignore[no-untyped-def]
    """Register a request through the intake use case; returns (number, tracking_code)."""
    from ticketing.config.schema import Channel
    from ticketing.operations.events import Actor
    from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
    from ticketing.web.extensions import db

    def _file(commune: str = DEMO, **fields) -> tuple[str, str]:  # type: ignore[no-untyped-def]
        ctx = app.extensions["aiguillage"].context(commune)
        defaults = dict(
            channel=Channel.WEB,
            citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                                   email="camille.martin@example.org"),
            description="Le lampadaire devant le 12 rue des Lilas ne s'allume plus.",
            received_at=datetime.now(UTC),
        )
        defaults.update(fields)
        with app.app_context():
            ticket = submit_request(db.session, ctx, IntakeRequest(**defaults),
                                    Actor.citizen("test"))
            db.session.commit()
            return ticket.number, ticket.tracking_code

    return _file


CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, url: str) -> str:  # type: ignore[no-untyped-def]
    """The CSRF token of the form served at ``url``."""
    page = client.get(url).get_data(as_text=True)
    match = CSRF_INPUT.search(page) or re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token in {url}"
    return match.group(1)


def login(client, email: str, commune: str = DEMO, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    """Log in through the real login form (CSRF included)."""
    url = f"/{commune}/agent/connexion"
    token = csrf_token(client, url)
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


# --- the browser: one Playwright and one Chromium for the whole run -----------------
# (Playwright's sync API cannot be started twice in one thread, so every browser test,
# whatever its folder, shares this session fixture.)

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium (never a downloaded browser)."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: .ci/run must install it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
