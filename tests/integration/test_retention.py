"""RGPD retention: closed requests past their category's delay lose their personal data,
statistics stay, shared files and live tickets are left alone (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ticketing.models import (
    Attachment,
    AuditEvent,
    Citizen,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketContact,
)
from ticketing.models.ticket import EntryKind, Status, ThreadEntry
from ticketing.operations.attachments import IncomingFile, blob_path, store_bytes
from ticketing.operations.intake import CitizenDetails
from ticketing.operations.retention import (
    ANONYMOUS_SUBJECT,
    ANONYMOUS_TEXT,
    anonymise_due,
    months_before,
)
from ticketing.reporting.filters import Period, PilotFilter
from ticketing.reporting.indicators import compute_indicators
from ticketing.search.service import search

PNG = b"\x89PNG\r\n\x1a\n" + b"photo du trou" * 10
OLD = datetime(2021, 3, 10, 9, 0, tzinfo=UTC)  # closed long ago: past every delay
SERVICES = ("courrier", "cabinet", "voirie", "proprete", "eclairage", "urbanisme", "etat-civil",
            "ecoles", "espaces-verts")


@pytest.fixture
def mail_dir(app) -> Path:  # type: ignore[no-untyped-def]
    return app.extensions["aiguillage"].settings.data_dir / "mail"


def _ticket(db_session, number: str) -> Ticket:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return db_session.scalars(select(Ticket).where(Ticket.number == number)).one()


def _close(db_session, number: str, closed_at: datetime = OLD) -> Ticket:  # type: ignore[no-untyped-def]
    """Test set-up: the request was answered and closed at ``closed_at``, its mail sent."""
    ticket = _ticket(db_session, number)
    ticket.status = Status.CLOSED
    ticket.first_answer_at = closed_at
    ticket.closed_at = closed_at
    for message in db_session.scalars(select(OutboxMessage)
                                      .where(OutboxMessage.ticket_id == ticket.id)):
        message.status = OutboxStatus.SENT
    db_session.commit()
    return ticket


def _file(file_request, email: str = "camille.martin@example.org", **fields) -> str:  # type: ignore[no-untyped-def]
    defaults = dict(
        received_at=OLD - timedelta(days=20),
        subject="Nid de poule rue des Lilas",
        description="Un nid de poule devant chez moi, au 12 rue des Lilas.",
        category_code="chaussee",
        citizen=CitizenDetails(last_name="Martin", first_name="Camille", email=email,
                               phone="0612345678", address="12 rue des Lilas"),
    )
    defaults.update(fields)
    number, _ = file_request(**defaults)
    return number


def _mail_record(db_session, mail_dir: Path, ticket: Ticket, raw: bytes, uid: int) -> str:  # type: ignore[no-untyped-def]
    digest = store_bytes(mail_dir, raw)
    db_session.add(InboundMessage(
        commune_id=ticket.commune_id, mailbox_key="mairie", uidvalidity=1, uid=uid,
        message_id=f"m{uid}@example.org", raw_sha256=digest, raw_size=len(raw),
        from_address="camille.martin@example.org", subject="Nid de poule",
        status="processed", ticket_id=ticket.id))
    db_session.commit()
    return digest


def test_a_ticket_past_its_delay_loses_every_personal_data(
        db_session, demo_ctx, file_request, mail_dir) -> None:  # type: ignore[no-untyped-def]
    number = _file(file_request, location="12 rue des Lilas", zone_code="centre-bourg",
                   latitude=45.04, longitude=3.88, files=[IncomingFile("trou.png", PNG)])
    ticket = _close(db_session, number)
    db_session.add(ThreadEntry(commune_id=ticket.commune_id, ticket_id=ticket.id,
                               kind=EntryKind.REPLY, subject="Votre demande",
                               body="Madame Martin, le trou sera rebouché."))
    db_session.add(TicketContact(commune_id=ticket.commune_id, ticket_id=ticket.id,
                                 email="conjoint@example.org", name="Dominique Martin"))
    digest = _mail_record(db_session, mail_dir, ticket, b"From: camille\r\n\r\nNid", 1)
    file_sha = ticket.attachments[0].sha256
    assert blob_path(demo_ctx.attachments_dir, file_sha).exists()

    report = anonymise_due(db_session, demo_ctx, mail_dir)

    assert report.numbers == [number]
    ticket = _ticket(db_session, number)
    assert ticket.anonymised_at is not None
    assert ticket.subject == demo_ctx.config.categories["chaussee"].label
    assert ticket.description == ANONYMOUS_TEXT
    assert (ticket.location, ticket.latitude, ticket.longitude) == (None, None, None)
    assert ticket.extra_fields == {}
    # Statistics stay.
    assert (ticket.number, ticket.zone_code, ticket.category_code, ticket.status,
            ticket.closed_at) == (number, "centre-bourg", "chaussee", Status.CLOSED, OLD)
    assert ticket.entries and all(e.body == ANONYMOUS_TEXT for e in ticket.entries)
    assert not any("Lilas" in e.subject + e.body for e in ticket.entries)
    assert db_session.scalar(select(func.count(Attachment.id))) == 0
    assert not blob_path(demo_ctx.attachments_dir, file_sha).exists()
    mail = db_session.scalars(select(InboundMessage)).one()
    assert (mail.from_address, mail.subject) == ("", "")
    assert not blob_path(mail_dir, digest).exists()
    for sent in db_session.scalars(select(OutboxMessage)):
        assert (sent.to_address, sent.subject, sent.body_text) == ("", "", "")
    assert db_session.scalar(select(func.count(TicketContact.id))) == 0
    citizen = db_session.get(Citizen, ticket.citizen_id)
    assert (citizen.full_name, citizen.email, citizen.phone, citizen.address) == \
        ("", None, None, None)
    event = db_session.scalars(select(AuditEvent)
                               .where(AuditEvent.action == "ticket.anonymised")).one()
    assert event.ticket_id == ticket.id
    assert event.after["attachments"] == 1 and event.after["contacts"] == 1
    assert "martin" not in str(event.after).lower() and "lilas" not in str(event.after).lower()


def test_a_ticket_within_its_delay_is_untouched(db_session, demo_ctx, file_request,
                                                mail_dir) -> None:  # type: ignore[no-untyped-def]
    recent = datetime.now(UTC) - timedelta(days=400)  # 13 months: chaussee keeps 36
    kept = _file(file_request, received_at=recent - timedelta(days=5))
    _close(db_session, kept, recent)
    civil = _file(file_request, email="a@example.org", category_code="acte-etat-civil",
                  received_at=recent - timedelta(days=5))
    _close(db_session, civil, recent)  # acte-etat-civil keeps 12 months only

    assert anonymise_due(db_session, demo_ctx, mail_dir).numbers == [civil]

    ticket = _ticket(db_session, kept)
    assert ticket.anonymised_at is None
    assert ticket.subject == "Nid de poule rue des Lilas"
    assert ticket.citizen.email == "camille.martin@example.org"


def test_a_ticket_without_category_takes_the_commune_delay(
        db_session, demo_ctx, file_request, mail_dir) -> None:  # type: ignore[no-untyped-def]
    assert demo_ctx.config.commune.retention_months == 36
    now = datetime.now(UTC)
    past = _file(file_request, category_code=None, received_at=now - timedelta(days=1200))
    _close(db_session, past, now - timedelta(days=37 * 31))
    kept = _file(file_request, email="e@example.org", category_code=None,
                 received_at=now - timedelta(days=1000))
    _close(db_session, kept, now - timedelta(days=30 * 31))

    assert anonymise_due(db_session, demo_ctx, mail_dir).numbers == [past]
    assert _ticket(db_session, past).subject == ANONYMOUS_SUBJECT
    assert _ticket(db_session, kept).anonymised_at is None


def test_open_and_answered_tickets_wait_for_closing(db_session, demo_ctx, file_request,
                                                    mail_dir) -> None:  # type: ignore[no-untyped-def]
    number = _file(file_request)
    ticket = _close(db_session, number)
    ticket.status = Status.ANSWERED
    db_session.commit()
    assert anonymise_due(db_session, demo_ctx, mail_dir).numbers == []


def test_a_citizen_with_another_live_ticket_keeps_their_identity(
        db_session, demo_ctx, file_request, mail_dir) -> None:  # type: ignore[no-untyped-def]
    old = _file(file_request)
    _close(db_session, old)
    live = _file(file_request, received_at=datetime.now(UTC), description="Encore un trou.")
    assert _ticket(db_session, old).citizen_id == _ticket(db_session, live).citizen_id

    report = anonymise_due(db_session, demo_ctx, mail_dir)

    assert report.numbers == [old] and report.citizens_cleared == 0
    citizen = _ticket(db_session, live).citizen
    assert (citizen.last_name, citizen.email) == ("Martin", "camille.martin@example.org")


def test_a_file_shared_with_a_live_ticket_stays(db_session, demo_ctx, file_request,
                                                mail_dir) -> None:  # type: ignore[no-untyped-def]
    old = _file(file_request, files=[IncomingFile("trou.png", PNG)])
    _close(db_session, old)
    live = _file(file_request, email="b@example.org", received_at=datetime.now(UTC),
                 files=[IncomingFile("meme-photo.png", PNG)])
    raw = b"From: b\r\n\r\nmeme courriel"
    _mail_record(db_session, mail_dir, _ticket(db_session, old), raw, 1)
    digest = _mail_record(db_session, mail_dir, _ticket(db_session, live), raw, 2)

    anonymise_due(db_session, demo_ctx, mail_dir)

    kept = _ticket(db_session, live).attachments
    assert len(kept) == 1 and blob_path(demo_ctx.attachments_dir, kept[0].sha256).exists()
    assert blob_path(mail_dir, digest).exists()


def test_a_dry_run_changes_nothing(db_session, demo_ctx, file_request, mail_dir) -> None:  # type: ignore[no-untyped-def]
    number = _file(file_request, files=[IncomingFile("trou.png", PNG)])
    _close(db_session, number)
    events = db_session.scalar(select(func.count(AuditEvent.id)))

    report = anonymise_due(db_session, demo_ctx, mail_dir, dry_run=True)

    assert report.numbers == [number] and "would anonymise 1" in report.summary()
    ticket = _ticket(db_session, number)
    assert ticket.anonymised_at is None and ticket.subject == "Nid de poule rue des Lilas"
    assert blob_path(demo_ctx.attachments_dir, ticket.attachments[0].sha256).exists()
    assert db_session.scalar(select(func.count(AuditEvent.id))) == events


def test_pending_mail_holds_a_ticket_back(db_session, demo_ctx, file_request,
                                          mail_dir) -> None:  # type: ignore[no-untyped-def]
    number = _file(file_request)
    ticket = _close(db_session, number)
    db_session.add(OutboxMessage(commune_id=ticket.commune_id, ticket_id=ticket.id,
                                 kind="reply", to_address="camille.martin@example.org",
                                 subject="Réponse", body_text="Bonjour"))
    db_session.commit()

    report = anonymise_due(db_session, demo_ctx, mail_dir)

    assert report.numbers == [] and report.waiting_for_mail == 1
    assert _ticket(db_session, number).anonymised_at is None


def test_the_daily_job_is_idempotent(app, db_session, file_request) -> None:  # type: ignore[no-untyped-def]
    from ticketing.jobs import run_all_once, run_retention

    number = _file(file_request)
    _close(db_session, number)

    first = run_retention(app)
    again = run_all_once(app)["retention"]

    assert [r.numbers for r in first if r.numbers] == [[number]]
    assert all(not r.numbers for r in again)
    assert db_session.scalar(select(func.count(AuditEvent.id))
                             .where(AuditEvent.action == "ticket.anonymised")) == 1


def test_search_no_longer_finds_the_old_words(db_session, demo_ctx, file_request,
                                              mail_dir) -> None:  # type: ignore[no-untyped-def]
    number = _file(file_request, description="Un lampadaire tordu près du marronnier.")
    _close(db_session, number)

    def find(words: str) -> list[str]:
        db_session.expire_all()
        found = search(db_session, demo_ctx.commune_id, words, SERVICES)
        return [t.number for t in found.tickets]

    assert find("marronnier") == [number]
    assert find("Martin") == [number]
    anonymise_due(db_session, demo_ctx, mail_dir)
    assert find("marronnier") == []
    assert find("Martin") == []
    assert find("Lilas") == []


def test_the_pilot_counts_do_not_change(db_session, demo_ctx, file_request,
                                        mail_dir) -> None:  # type: ignore[no-untyped-def]
    for email in ("c@example.org", "d@example.org"):
        _close(db_session, _file(file_request, email=email, zone_code="les-cepes"))
    period = Period(date(2021, 1, 1), date(2021, 6, 1))
    now = datetime.now(UTC)

    def indicators():  # type: ignore[no-untyped-def]
        db_session.expire_all()
        return compute_indicators(db_session, demo_ctx.commune_id, SERVICES, PilotFilter(),
                                  demo_ctx.config, period, now)

    before = indicators()
    assert len(anonymise_due(db_session, demo_ctx, mail_dir).numbers) == 2
    assert indicators() == before


def test_months_before_keeps_the_day_or_the_month_end() -> None:
    assert months_before(date(2026, 3, 15), 36) == date(2023, 3, 15)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 10), 12) == date(2025, 1, 10)


def test_reply_drafts_lose_their_text(db_session, demo_ctx, demo_accounts, file_request,
                                      mail_dir) -> None:  # type: ignore[no-untyped-def]
    from ticketing.models import Agent
    from ticketing.models.drafts import ReplyDraft

    number = _file(file_request)
    ticket = _close(db_session, number)
    agent = db_session.scalars(select(Agent).where(Agent.commune_id == ticket.commune_id)).first()
    db_session.add(ReplyDraft(commune_id=ticket.commune_id, ticket_id=ticket.id,
                              author_agent_id=agent.id, subject="Madame Martin",
                              body="Le trou du 12 rue des Lilas", status_after="closed",
                              state="returned", rule_name="r", validator_role="dgs",
                              comment="Ajoutez Mme Martin"))
    db_session.commit()

    anonymise_due(db_session, demo_ctx, mail_dir)

    db_session.expire_all()
    draft = db_session.scalars(select(ReplyDraft)).one()
    assert (draft.subject, draft.body, draft.comment) == ("", ANONYMOUS_TEXT, "")
