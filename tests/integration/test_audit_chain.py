"""The audit hash chain: written on insert, checked by ``aiguillage audit verify``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from tests.integration.test_cli import aiguillage
from ticketing.db import configure_sqlite
from ticketing.domain.audit_chain import GENESIS_HASH
from ticketing.models import AuditEvent, AuditTampering
from ticketing.operations.audit_chain import verify_all
from ticketing.operations.events import Actor, record_event
from ticketing.settings import REPO_ROOT

DEMO = "champignac-en-cambrousse"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"AIGUILLAGE_DATABASE_URL": database_url,
            "AIGUILLAGE_CONFIG_DIR": str(REPO_ROOT / "config"),
            "AIGUILLAGE_DATA_DIR": str(tmp_path / "data"),
            "AIGUILLAGE_SECRET_KEY": "cli-test", "AIGUILLAGE_SMTP_PORT": "1"}


def _events(app, commune_id: int) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    from ticketing.web.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.commune_id == commune_id).order_by(AuditEvent.sequence)))


def _raw(app, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    """Tamper as an intruder would: straight SQL, bypassing the ORM's append-only guard."""
    from ticketing.web.extensions import db

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_each_commune_has_its_own_unbroken_chain(app, file_request, demo_ctx, other_ctx,  # type: ignore[no-untyped-def]
                                                  cli_env) -> None:
    file_request()
    file_request()
    file_request(commune="trifouillis-les-oies", description="Le trottoir est abîmé.")

    for ctx in (demo_ctx, other_ctx):
        events = _events(app, ctx.commune_id)
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        assert events[0].previous_hash == GENESIS_HASH
        for before, after in zip(events, events[1:], strict=False):
            assert after.previous_hash == before.hash
    total = len(_events(app, demo_ctx.commune_id)) + len(_events(app, other_ctx.commune_id))

    result = aiguillage("audit", "verify", env=cli_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"audit chain intact: {total} event(s) checked" in result.stdout


def test_an_altered_event_is_named(app, file_request, demo_ctx, cli_env) -> None:  # type: ignore[no-untyped-def]
    file_request()
    file_request()
    victim = _events(app, demo_ctx.commune_id)[1]
    _raw(app, "UPDATE audit_events SET actor_label = 'Quelqu''un d''autre' WHERE id = :id",
         id=victim.id)

    result = aiguillage("audit", "verify", "--commune", DEMO, env=cli_env)

    assert result.returncode == 1
    assert f"event id {victim.id}, sequence {victim.sequence}" in result.stdout
    assert "hash mismatch" in result.stdout


def test_an_event_rehashed_by_the_intruder_still_breaks_the_next_link(  # type: ignore[no-untyped-def]
        app, file_request, demo_ctx, cli_env) -> None:
    from ticketing.domain.audit_chain import event_hash

    file_request()
    first, second = _events(app, demo_ctx.commune_id)[:2]
    forged = first.chained_fields().__class__(**{**first.chained_fields().__dict__,
                                                 "action": "ticket.noted"})
    _raw(app, "UPDATE audit_events SET action = 'ticket.noted', hash = :h WHERE id = :id",
         h=event_hash(forged), id=first.id)

    result = aiguillage("audit", "verify", env=cli_env)

    assert result.returncode == 1
    assert f"event id {second.id}, sequence {second.sequence}" in result.stdout
    assert "previous_hash" in result.stdout


def test_a_deleted_event_is_named(app, file_request, demo_ctx, cli_env) -> None:  # type: ignore[no-untyped-def]
    file_request()
    file_request()
    events = _events(app, demo_ctx.commune_id)
    _raw(app, "DELETE FROM audit_events WHERE id = :id", id=events[1].id)

    result = aiguillage("audit", "verify", "--commune", DEMO, env=cli_env)

    assert result.returncode == 1
    assert f"event id {events[2].id}, sequence {events[2].sequence}" in result.stdout
    assert f"events {events[1].sequence} to {events[1].sequence} are missing" in result.stdout


def test_deleting_the_last_events_is_seen_from_the_chain_head(app, file_request, demo_ctx,  # type: ignore[no-untyped-def]
                                                              db_session) -> None:
    file_request()
    events = _events(app, demo_ctx.commune_id)
    _raw(app, "DELETE FROM audit_events WHERE id = :id", id=events[-1].id)
    db_session.expire_all()

    report = verify_all(db_session, DEMO)

    assert not report.intact
    assert report.broken[0].sequence == events[-1].sequence
    assert "missing" in report.broken[0].problem


def test_the_orm_still_refuses_to_change_an_event(app, file_request, db_session) -> None:  # type: ignore[no-untyped-def]
    file_request()
    event = db_session.scalars(select(AuditEvent)).first()
    event.action = "autre.chose"
    with pytest.raises(AuditTampering):
        db_session.flush()
    db_session.rollback()


def test_unknown_commune_is_a_usage_error(app, cli_env) -> None:  # type: ignore[no-untyped-def]
    result = aiguillage("audit", "verify", "--commune", "nulle-part", env=cli_env)
    assert result.returncode == 2
    assert "unknown commune" in result.stderr


def test_concurrent_writers_chain_one_after_the_other(app, demo_ctx, database_url) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(database_url, pool_size=8)
    configure_sqlite(engine)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for index in range(10):
                with Session(engine) as session:
                    record_event(session, demo_ctx.commune_id, Actor.system(f"w{worker}"),
                                 "test.concurrent", after={"index": index})
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        with Session(engine) as session:
            report = verify_all(session, DEMO)
    finally:
        engine.dispose()

    assert not errors, errors
    assert report.intact, [b.describe() for b in report.broken]
    assert report.checked == 40


def test_the_migration_chains_the_events_of_an_old_database(tmp_path: Path) -> None:
    from ticketing.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0005_outbox_recipient")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO communes (id, slug, name) VALUES "
                                "(1, 'vieille-ville', 'Vieille-Ville'), (2, 'autre', 'Autre')"))
        for commune_id, action in [(1, "a.one"), (2, "b.one"), (1, "a.two"), (1, "a.three")]:
            connection.execute(text(
                "INSERT INTO audit_events (commune_id, actor_kind, actor_label, action, "
                "before, after, created_at) VALUES (:c, 'system', 'Aiguillage', :a, '{}', "
                "'{\"n\": 1}', '2026-01-02 03:04:05.123456')"), {"c": commune_id, "a": action})
    engine.dispose()

    upgrade(url)

    engine = create_engine(url)
    try:
        with Session(engine) as session:
            report = verify_all(session)
            sequences = session.execute(select(AuditEvent.action, AuditEvent.sequence)
                                        .order_by(AuditEvent.id)).all()
    finally:
        engine.dispose()
    assert report.intact and report.checked == 4
    assert [tuple(row) for row in sequences] == [("a.one", 1), ("b.one", 1), ("a.two", 2),
                                                 ("a.three", 3)]


def test_locking_first_several_flushes_and_a_rolled_back_savepoint_keep_the_chain(
        app, demo_ctx, db_session) -> None:  # type: ignore[no-untyped-def]
    from ticketing.models.audit import lock_chain_head

    actor = Actor.system("test")
    lock_chain_head(db_session, demo_ctx.commune_id)
    record_event(db_session, demo_ctx.commune_id, actor, "test.one")
    db_session.flush()
    record_event(db_session, demo_ctx.commune_id, actor, "test.two")
    db_session.flush()
    savepoint = db_session.begin_nested()
    record_event(db_session, demo_ctx.commune_id, actor, "test.rolled_back")
    db_session.flush()
    savepoint.rollback()
    record_event(db_session, demo_ctx.commune_id, actor, "test.three")
    db_session.commit()

    report = verify_all(db_session, DEMO)
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.commune_id == demo_ctx.commune_id).order_by(AuditEvent.sequence)).all()
    assert report.intact, [b.describe() for b in report.broken]
    assert actions == ["test.one", "test.two", "test.three"]
