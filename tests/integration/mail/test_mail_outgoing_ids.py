"""What the mail channel added to the core: forced service at intake, no-ack intake, and the
signed Message-ID every outgoing mail about a ticket carries, up to the SMTP server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ticketing.config.schema import Channel
from ticketing.domain.message_ids import verify_message_id
from ticketing.jobs import run_outbox
from ticketing.models import OutboxMessage
from ticketing.operations.events import Actor
from ticketing.operations.intake import (
    CitizenDetails,
    IntakeRejected,
    IntakeRequest,
    submit_request,
)
from ticketing.web.extensions import db


def _request(**fields) -> IntakeRequest:  # type: ignore[no-untyped-def]
    values = dict(channel=Channel.EMAIL, received_at=datetime.now(UTC),
                  citizen=CitizenDetails(last_name="Martin", email="camille@example.org"),
                  description="Le lampadaire de la rue des Lilas est éteint.")
    values.update(fields)
    return IntakeRequest(**values)


def test_a_forced_service_skips_the_routing_rules(app, demo_ctx) -> None:
    with app.app_context():
        routed = submit_request(db.session, demo_ctx, _request(), Actor.citizen("t"))
        forced = submit_request(db.session, demo_ctx, _request(forced_service="urbanisme"),
                                Actor.citizen("t"))
        assert routed.service_code == "eclairage"
        assert forced.service_code == "urbanisme"
        assert forced.routing_reason == "service de la boîte de réception"
        with pytest.raises(IntakeRejected):
            submit_request(db.session, demo_ctx, _request(forced_service="nope"),
                           Actor.citizen("t"))
        db.session.rollback()


def test_acknowledge_false_queues_no_acknowledgement(app, demo_ctx) -> None:
    with app.app_context():
        submit_request(db.session, demo_ctx, _request(acknowledge=False), Actor.citizen("t"))
        db.session.commit()
        assert db.session.scalars(select(OutboxMessage)).all() == []


def test_the_acknowledgement_is_sent_with_its_signed_message_id(
        app, settings, configs, demo_ctx, smtp_server) -> None:
    from ticketing.web import create_app

    sending = create_app(replace(settings, smtp_port=smtp_server.port), configs,
                         overrides={"TESTING": True, "MAIL_SUPPRESS_SEND": False})
    ctx = sending.extensions["aiguillage"].context("champignac-en-cambrousse")
    with sending.app_context():
        ticket = submit_request(db.session, ctx, _request(), Actor.citizen("t"))
        db.session.commit()
        ticket_id = ticket.id
        [queued] = db.session.scalars(select(OutboxMessage)).all()
        message_id = queued.message_id
    assert verify_message_id(message_id, settings.secret_key.encode()) == (
        ctx.commune_id, ticket_id)
    assert run_outbox(sending).sent == 1
    [received] = smtp_server.messages
    assert received.message["Message-ID"] == f"<{message_id}>"
    with sending.app_context():
        db.session.remove()
        db.engine.dispose()
