"""The intake use case on a real database: numbering, routing, deadlines, audit, acknowledgement."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from ticketing.config.schema import Channel
from ticketing.domain.deadlines import compute_deadlines
from ticketing.models import Attachment, AuditEvent, AuditTampering, OutboxMessage, Ticket
from ticketing.operations.attachments import IncomingFile, blob_path
from ticketing.operations.events import Actor
from ticketing.operations.intake import (
    CitizenDetails,
    IntakeRejected,
    IntakeRequest,
    submit_request,
)
from ticketing.web.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _request(**fields) -> IntakeRequest:  # type: ignore[no-untyped-def]
    values = dict(
        channel=Channel.WEB,
        citizen=CitizenDetails(last_name="Durand", first_name="Alix", email="Alix@Example.org"),
        description="Bonjour, une question.",
        received_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
    )
    values.update(fields)
    return IntakeRequest(**values)


def _ticket(number: str) -> Ticket:
    return db.session.scalars(select(Ticket).where(Ticket.number == number)).one()


def test_numbers_are_per_commune_and_per_year(app, file_request, demo_ctx):  # type: ignore[no-untyped-def]
    first, _ = file_request(received_at=datetime(2026, 12, 31, 10, tzinfo=UTC))
    second, _ = file_request(received_at=datetime(2026, 12, 31, 11, tzinfo=UTC))
    other, _ = file_request(commune="trifouillis-les-oies",
                            received_at=datetime(2026, 12, 31, 11, tzinfo=UTC))
    # 23:30 UTC on 31 December is already 1 January in Paris: a new year, a new series.
    new_year, _ = file_request(received_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert (first, second, other, new_year) == (
        "2026-000001", "2026-000002", "2026-000001", "2027-000001")


def test_keyword_rule_routes_to_eclairage_and_deadline_follows_rules(app, file_request, demo_ctx):  # type: ignore[no-untyped-def]  # noqa: E501
    received = datetime(2026, 12, 22, 15, 0, tzinfo=UTC)
    number, code = file_request(received_at=received,
                                description="Le réverbère de la place est éteint depuis lundi.")
    with app.app_context():
        ticket = _ticket(number)
        assert ticket.service_code == "eclairage"
        assert "règle" in ticket.routing_reason
        expected = compute_deadlines(demo_ctx.config.deadlines, demo_ctx.config.calendar,
                                     demo_ctx.timezone, "web", None, received)
        assert ticket.answer_due_on == expected.answer_due
        assert ticket.ack_due_on == expected.acknowledgement_due
        assert ticket.answer_due_on > received.date()
        assert len(code) == 9 and code[4] == "-"


def test_request_matching_no_rule_and_no_category_lands_in_triage(app, file_request, demo_ctx):  # type: ignore[no-untyped-def]
    number, _ = file_request(description="Je voudrais parler à quelqu'un, merci.")
    with app.app_context():
        assert _ticket(number).service_code == demo_ctx.config.commune.triage_service


def test_letter_deadline_counts_from_sending_date_plus_transit(app, file_request, demo_ctx):  # type: ignore[no-untyped-def]
    received = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    number, _ = file_request(channel=Channel.LETTER, received_at=received,
                             sent_on=date(2026, 11, 20))
    with app.app_context():
        ticket = _ticket(number)
        expected = compute_deadlines(demo_ctx.config.deadlines, demo_ctx.config.calendar,
                                     demo_ctx.timezone, "letter", None, received,
                                     sent_on=date(2026, 11, 20))
        without_sending_date = compute_deadlines(
            demo_ctx.config.deadlines, demo_ctx.config.calendar, demo_ctx.timezone, "letter",
            None, received)
        assert ticket.answer_due_on == expected.answer_due
        assert ticket.answer_due_on < without_sending_date.answer_due


def test_intake_writes_the_audit_event_and_queues_one_acknowledgement(app, file_request):  # type: ignore[no-untyped-def]
    number, code = file_request()
    with app.app_context():
        ticket = _ticket(number)
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.ticket_id == ticket.id)).all()
        actions = [e.action for e in events]
        assert actions[:2] == ["ticket.created", "acknowledgement.queued"]
        assert events[0].after["service"] == ticket.service_code
        mails = db.session.scalars(select(OutboxMessage)).all()
        assert len(mails) == 1
        assert mails[0].kind == "acknowledgement"
        assert mails[0].to_address == "camille.martin@example.org"
        assert code in mails[0].subject and code in mails[0].body_text
        assert mails[0].headers["Auto-Submitted"] == "auto-replied"


def test_no_email_and_a_landline_means_no_acknowledgement_but_a_ticket(app, file_request):  # type: ignore[no-untyped-def]
    file_request(citizen=CitizenDetails(last_name="Sans", phone="04 71 02 03 04"))
    with app.app_context():
        assert db.session.scalar(select(func.count(Ticket.id))) == 1
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_no_email_but_a_mobile_means_an_sms_through_the_communes_gateway(app, file_request):  # type: ignore[no-untyped-def]
    number, _ = file_request(citizen=CitizenDetails(last_name="Sans", phone="06 01 02 03 04"))
    with app.app_context():
        sms = db.session.scalars(select(OutboxMessage)).one()
        ticket = db.session.scalars(select(Ticket)).one()
    assert sms.to_address == "33601020304@sms.champignac.example"
    assert ticket.tracking_code in sms.body_text and number in sms.body_text
    assert len(sms.body_text) < 320  # two SMS at most


def test_no_sms_where_the_commune_has_no_gateway(app, file_request, other_ctx):  # type: ignore[no-untyped-def]
    assert other_ctx.config.commune.sms is None
    file_request(commune=other_ctx.config.slug,
                 citizen=CitizenDetails(last_name="Sans", phone="0601020304"))
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_decision_category_acknowledgement_states_the_silence_outcome(app, file_request, demo_ctx):  # type: ignore[no-untyped-def]
    decision = next(c for c in demo_ctx.config.categories.values() if c.silence)
    file_request(category_code=decision.code)
    with app.app_context():
        body = db.session.scalars(select(OutboxMessage)).one().body_text
        word = "acceptée" if decision.silence.outcome == "acceptance" else "rejetée"
        assert f"réputée {word}" in body


def test_same_citizen_email_reuses_the_contact(app, file_request):  # type: ignore[no-untyped-def]
    a, _ = file_request()
    b, _ = file_request(citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                                               email="CAMILLE.MARTIN@example.org"))
    with app.app_context():
        assert _ticket(a).citizen_id == _ticket(b).citizen_id


def test_attachments_are_stored_once_by_content_hash(app, demo_ctx):  # type: ignore[no-untyped-def]
    with app.app_context():
        for name in ("photo.png", "../../etc/photo-bis.png"):
            submit_request(db.session, demo_ctx,
                           _request(files=[IncomingFile(name, PNG)]), Actor.citizen("t"))
        db.session.commit()
        files = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
        assert [f.filename for f in files] == ["photo.png", "photo-bis.png"]
        assert files[0].sha256 == files[1].sha256
        assert files[0].public_id != files[1].public_id
        assert blob_path(demo_ctx.attachments_dir, files[0].sha256).read_bytes() == PNG


def test_disguised_file_is_refused_and_nothing_is_written(app, demo_ctx):  # type: ignore[no-untyped-def]
    with app.app_context():
        with pytest.raises(IntakeRejected) as refused:
            submit_request(db.session, demo_ctx,
                           _request(files=[IncomingFile("photo.png", b"MZ\x90\x00 not an image")]),
                           Actor.citizen("t"))
        db.session.rollback()
        assert refused.value.field == "attachments"
        assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_unknown_category_is_refused(app, demo_ctx):  # type: ignore[no-untyped-def]
    with app.app_context(), pytest.raises(IntakeRejected) as refused:
        submit_request(db.session, demo_ctx, _request(category_code="nope"), Actor.citizen("t"))
    assert refused.value.field == "category"


def test_audit_events_cannot_be_changed_or_deleted(app, file_request):  # type: ignore[no-untyped-def]
    file_request()
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).first()
        event.action = "rewritten"
        with pytest.raises(AuditTampering):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalars(select(AuditEvent)).first())
        with pytest.raises(AuditTampering):
            db.session.flush()
        db.session.rollback()


def test_concurrent_intake_never_gives_the_same_number_twice(app, demo_ctx):  # type: ignore[no-untyped-def]
    numbers: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                for _ in range(8):
                    ticket = submit_request(db.session, demo_ctx, _request(), Actor.citizen("t"))
                    db.session.commit()
                    numbers.append(ticket.number)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(numbers) == [f"2026-{i:06d}" for i in range(1, 25)]


def test_a_batch_is_numbered_in_order_and_acknowledged_like_single_requests(app, demo_ctx):  # type: ignore[no-untyped-def]  # noqa: E501
    """The mail channel files a group of mails in one batch: each gets its own number (in
    order, across a new year), tracking code, audit event and acknowledgement, and mails
    from one new address share one citizen."""
    from ticketing.models import Citizen
    from ticketing.operations.intake import submit_requests

    late = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)  # 23:00 in Paris
    next_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 2027 in Paris
    same = CitizenDetails(last_name="Petit", first_name="Zoé", email="zoe.petit@example.org")
    requests = [
        (_request(received_at=late, citizen=same), Actor.citizen("a")),
        (_request(received_at=next_year, description="Le réverbère est éteint."),
         Actor.citizen("b")),
        (_request(received_at=late, citizen=same, subject="Deuxième"), Actor.citizen("c")),
    ]
    with app.app_context():
        submit_request(db.session, demo_ctx, _request(received_at=late), Actor.citizen("0"))
        tickets = submit_requests(db.session, demo_ctx, requests)
        db.session.commit()
        assert [t.number for t in tickets] == ["2026-000002", "2027-000001", "2026-000003"]
        assert len({t.tracking_code for t in tickets}) == 3
        assert tickets[0].citizen_id == tickets[2].citizen_id != tickets[1].citizen_id
        assert tickets[1].service_code == "eclairage"  # routed like any request
        assert db.session.scalar(select(func.count(Citizen.id)).where(
            Citizen.email == "zoe.petit@example.org")) == 1
        for ticket in tickets:
            assert db.session.scalar(select(func.count(AuditEvent.id)).where(
                AuditEvent.ticket_id == ticket.id, AuditEvent.action == "ticket.created")) == 1
            [ack] = db.session.scalars(select(OutboxMessage).where(
                OutboxMessage.ticket_id == ticket.id)).all()
            assert ticket.tracking_code in ack.subject and ack.message_id


def test_one_rejected_request_rejects_its_batch(app, demo_ctx):  # type: ignore[no-untyped-def]
    from ticketing.operations.intake import submit_requests

    with app.app_context():
        with pytest.raises(IntakeRejected):
            submit_requests(db.session, demo_ctx, [
                (_request(), Actor.citizen("a")),
                (_request(category_code="nope"), Actor.citizen("b"))])
        db.session.rollback()
        assert db.session.scalar(select(func.count(Ticket.id))) == 0
