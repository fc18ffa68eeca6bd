"""One app per test module (tickets and signed-in clients are built once, not per test),
the demo roles' clients, and builders for tickets, attachments and quarantined mail."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import DEMO, OTHER, _empty_tables, csrf_token, login
from ticketing.settings import REPO_ROOT, Settings

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18"
    b"\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def security_settings(database_url: str, data_dir: Path) -> Settings:
    return replace(
        Settings.from_environment(),
        database_url=database_url, config_dir=REPO_ROOT / "config", data_dir=data_dir,
        themes_dir=REPO_ROOT / "themes", secret_key="test-secret-key",
        ratelimit_storage_uri="memory://", smtp_host="127.0.0.1", smtp_port=1,
        public_form_limit="1000 per minute", tracking_limit="1000 per minute",
        login_limit="1000 per minute", login_account_limit="1000 per minute",
        reset_limit="1000 per minute", reset_address_limit="1000 per minute",
    )


@pytest.fixture(scope="module")
def module_app(database_url: str, configs, tmp_path_factory) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app living as long as the test module, with the demo accounts."""
    from ticketing.demo import create_demo_accounts
    from ticketing.web import create_app
    from ticketing.web.extensions import db, limiter

    settings = security_settings(database_url, tmp_path_factory.mktemp("security") / "data")
    app = create_app(settings, configs, overrides={"TESTING": True})
    limiter.reset()
    with app.app_context():
        create_demo_accounts(db.session, app.extensions["aiguillage"].commune_ids)
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        _empty_tables(db.engine)
        db.engine.dispose()


@dataclass
class RoleClient:
    """A test client signed in (or not) as one demo account, with its CSRF token."""

    name: str
    commune: str
    client: FlaskClient
    token: str


def role_client(app: Flask, name: str, email: str | None, commune: str) -> RoleClient:
    client = app.test_client()
    if email is not None:
        response = login(client, email, commune)
        assert response.status_code == 303, f"{email} could not sign in"
    return RoleClient(name, commune, client, csrf_token(client, f"/{commune}/demande"))


@pytest.fixture(scope="module")
def world(module_app: Flask):  # type: ignore[no-untyped-def]
    """Tickets, files and quarantined mail of both communes, filed on first use."""
    from tests.security.routes import World

    return World(module_app)


@pytest.fixture(scope="module")
def clients(module_app: Flask) -> dict[str, RoleClient]:
    """One client per role of the matrix, signed in once."""
    from tests.security.expected_matrix import ACCOUNTS

    return {role: role_client(module_app, role, email, commune)
            for role, (email, commune, _own, _other) in ACCOUNTS.items()}


def file_ticket(app: Flask, commune: str, service: str, *, with_file: bool = False,
                **fields: object) -> tuple[str, str, str | None]:
    """A request filed through the intake use case into ``service``:
    (number, tracking code, attachment public id or None)."""
    from ticketing.config.schema import Channel
    from ticketing.operations.attachments import IncomingFile
    from ticketing.operations.events import Actor
    from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
    from ticketing.web.extensions import db

    ctx = app.extensions["aiguillage"].context(commune)
    values: dict[str, object] = dict(
        channel=Channel.WEB,
        citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                               email="camille.martin@example.org"),
        description="Le trottoir devant le 3 rue des Lilas est défoncé.",
        received_at=datetime.now(UTC), forced_service=service,
        files=[IncomingFile("photo.png", PNG)] if with_file else [],
    )
    values.update(fields)
    with app.app_context():
        ticket = submit_request(db.session, ctx, IntakeRequest(**values),  # type: ignore[arg-type]
                                Actor.citizen("test"))
        db.session.commit()
        public_id = ticket.attachments[0].public_id if ticket.attachments else None
        return ticket.number, ticket.tracking_code, public_id


def quarantine_mail(app: Flask, commune: str, raw: bytes, *, subject: str = "Objet",
                    from_address: str = "x@example.org", reason: str = "illisible") -> int:
    """A quarantined inbound mail of ``commune`` with its raw bytes stored; its id."""
    from ticketing.models import InboundMessage, InboundStatus
    from ticketing.operations.attachments import blob_path
    from ticketing.web.extensions import db

    registry = app.extensions["aiguillage"]
    sha = hashlib.sha256(raw).hexdigest()
    path = blob_path(registry.settings.data_dir / "mail", sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    with app.app_context():
        message = InboundMessage(
            commune_id=registry.commune_ids[commune], mailbox_key=f"{commune}/mairie",
            uidvalidity=1, uid=int(sha[:8], 16), message_id=f"<{sha[:16]}@example.org>",
            raw_sha256=sha, raw_size=len(raw), from_address=from_address, subject=subject,
            status=InboundStatus.QUARANTINED, reason=reason)
        db.session.add(message)
        db.session.commit()
        return message.id


def count_rows(app: Flask) -> dict[str, int]:
    """Row counts of every table: a request that changes nothing leaves them equal.

    The audit events of refused accesses are left out: logging a refusal is the point.
    """
    from sqlalchemy import func, select

    from ticketing.models import AuditEvent, Base
    from ticketing.operations.audit_log import ACCESS_DENIED
    from ticketing.web.extensions import db

    tables = Base.metadata.sorted_tables
    with app.app_context():
        # One statement: this runs around every denied POST of the matrix.
        row = db.session.execute(select(
            *(select(func.count()).select_from(t).scalar_subquery() for t in tables),
            select(func.count()).where(AuditEvent.action == ACCESS_DENIED).scalar_subquery(),
        )).one()
        counts = {table.name: row[index] for index, table in enumerate(tables)}
        counts[AuditEvent.__tablename__] -= row[-1]
        return counts


Builder = Callable[..., tuple[str, str, str | None]]
__all__ = ["DEMO", "OTHER", "RoleClient", "count_rows", "file_ticket", "quarantine_mail",
           "role_client"]
