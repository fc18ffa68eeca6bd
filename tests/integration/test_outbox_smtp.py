"""The outbox against a real SMTP server: the acknowledgement arrives, a down server delays it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from ticketing.jobs import run_outbox, send_with_flask_mail
from ticketing.mail_templates import format_date_fr
from ticketing.models import AuditEvent, OutboxMessage, OutboxStatus, Ticket, utcnow
from ticketing.operations.outbox import LOOP_HEADER, MAX_ATTEMPTS, drain_outbox
from ticketing.web.extensions import db

DEMO = "champignac-en-cambrousse"
CITIZEN = "camille.martin@example.org"


@pytest.fixture
def mail_app(app, settings, configs, smtp_server):  # type: ignore[no-untyped-def]
    """An app that really sends to ``smtp_server`` (the ``app`` fixture empties the tables)."""
    from ticketing.web import create_app

    sending = create_app(
        replace(settings, smtp_port=smtp_server.port), configs,
        # Flask-Mail suppresses sending when app.testing is set, unless told otherwise.
        overrides={"TESTING": True, "MAIL_SUPPRESS_SEND": False},
    )
    yield sending
    with sending.app_context():
        db.session.remove()
        db.engine.dispose()


def _outbox(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return list(rows)


def _ticket(app, tracking_code: str) -> Ticket:  # type: ignore[no-untyped-def]
    with app.app_context():
        ticket = db.session.scalars(
            select(Ticket).where(Ticket.tracking_code == tracking_code)).one()
        db.session.expunge_all()
        return ticket


def _actions(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return list(rows)


def _drain(app, now):  # type: ignore[no-untyped-def]
    with app.app_context():
        report = drain_outbox(db.session, send_with_flask_mail, now=now)
        db.session.remove()
        return report


def test_acknowledgement_reaches_the_citizen(mail_app, file_request, smtp_server, configs,
                                             settings):  # type: ignore[no-untyped-def]
    number, code = file_request()

    report = run_outbox(mail_app)

    assert (report.sent, report.retried, report.dead) == (1, 0, 0)
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.rcpt_tos == [CITIZEN]
    assert received.mail_from == settings.mail_sender
    ticket = _ticket(mail_app, code)
    service = configs[DEMO].services[ticket.service_code]
    message = received.message
    assert code in message["Subject"] and number in message["Subject"]
    assert message["To"] == CITIZEN
    assert message["Reply-To"] == service.email
    assert message["Auto-Submitted"] == "auto-replied"
    assert message[LOOP_HEADER] == "1"
    body = received.body
    assert code in body and number in body
    assert f"au plus tard le {format_date_fr(ticket.answer_due_on)}" in body
    assert service.name in body and service.email in body

    [row] = _outbox(mail_app)
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None
    assert ticket.acknowledged_at is not None
    [event] = _actions(mail_app, "mail.sent")
    assert event.ticket_id == ticket.id and event.after["to"] == CITIZEN


def test_down_server_delays_mail_then_delivers_it_once(mail_app, file_request,
                                                       smtp_server):  # type: ignore[no-untyped-def]
    smtp_server.stop()
    _number, code = file_request()
    before = utcnow()

    report = run_outbox(mail_app)

    assert (report.sent, report.retried, report.dead) == (0, 1, 0)
    [row] = _outbox(mail_app)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.last_error and "Connection" in row.last_error
    assert row.next_attempt_at > before
    assert _ticket(mail_app, code).acknowledged_at is None
    # Not due yet: a second run right away leaves it alone.
    assert run_outbox(mail_app).retried == 0

    smtp_server.start()
    later = utcnow() + timedelta(days=1)
    assert _drain(mail_app, later).sent == 1
    assert _drain(mail_app, later).sent == 0
    assert run_outbox(mail_app).sent == 0

    assert len(smtp_server.messages) == 1
    assert code in smtp_server.messages[0].message["Subject"]
    [row] = _outbox(mail_app)
    assert row.status == OutboxStatus.SENT and row.attempts == 2
    assert _ticket(mail_app, code).acknowledged_at is not None
    assert len(_actions(mail_app, "mail.sent")) == 1


def test_mail_is_given_up_after_the_last_attempt(mail_app, file_request,
                                                 smtp_server):  # type: ignore[no-untyped-def]
    smtp_server.stop()
    _number, code = file_request()
    now = utcnow()

    reports = []
    for _ in range(MAX_ATTEMPTS):
        now += timedelta(days=1)  # past any retry delay
        reports.append(_drain(mail_app, now))

    assert [r.retried for r in reports] == [1] * (MAX_ATTEMPTS - 1) + [0]
    assert reports[-1].dead == 1
    [row] = _outbox(mail_app)
    assert row.status == OutboxStatus.DEAD and row.attempts == MAX_ATTEMPTS
    assert row.last_error
    [event] = _actions(mail_app, "mail.failed")
    assert event.ticket_id == _ticket(mail_app, code).id
    assert event.after["attempts"] == MAX_ATTEMPTS and event.after["error"] == row.last_error

    # A dead message is never retried, even once the server is back.
    smtp_server.start()
    assert _drain(mail_app, now + timedelta(days=30)).sent == 0
    assert smtp_server.messages == []
