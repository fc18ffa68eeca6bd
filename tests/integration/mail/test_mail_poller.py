"""The IMAP poller against a real Dovecot: tickets, replies, automatic mail, dedup, failures."""

from __future__ import annotations

import pytest
from mail_corpus import french_mail
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from mail_ingest import apply as mail_apply
from tests.conftest import DEMO, login
from ticketing.jobs import run_mail_poll
from ticketing.models import (
    Agent,
    AuditEvent,
    Citizen,
    EntryKind,
    InboundMessage,
    InboundStatus,
    MailboxState,
    MailFailure,
    OutboxMessage,
    Status,
    Ticket,
)
from ticketing.operations.events import Actor
from ticketing.operations.tickets import assign, set_status
from ticketing.web.extensions import db

CITIZEN = "camille.martin@example.org"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _rows(app, model, *where):  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = list(db.session.scalars(select(model).where(*where).order_by(model.id)))
        db.session.expunge_all()
        return rows


def _count(app, model, *where) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)))


def test_a_new_mail_becomes_an_acknowledged_ticket_and_is_moved(
        mail_app, dovecot, imap_user) -> None:
    dovecot.append(imap_user, french_mail(
        subject="Lampadaire éteint rue des Lilas",
        body="Bonjour,\nLe lampadaire devant le 12 rue des Lilas ne s'allume plus.\nMerci",
        charset="iso-8859-1", attachments=[("photo du lampadaire.pdf", "application/pdf", PDF),
                                           ("macro.docm", "application/octet-stream", b"PK..")]))

    report = run_mail_poll(mail_app)

    assert report.ok, [m.summary() for m in report.mailboxes]
    [ticket] = _rows(mail_app, Ticket)
    assert ticket.channel == "email" and ticket.subject == "Lampadaire éteint rue des Lilas"
    assert "ne s'allume plus" in ticket.description
    with mail_app.app_context():
        ticket = db.session.get(Ticket, ticket.id)
        assert ticket.citizen.email == CITIZEN
        assert (ticket.citizen.first_name, ticket.citizen.last_name) == ("Camille", "Martin")
        assert [a.filename for a in ticket.attachments] == ["photo du lampadaire.pdf"]
        notes = [e.body for e in ticket.entries if e.kind == EntryKind.NOTE]
        assert len(notes) == 1 and "macro.docm" in notes[0]
    [ack] = _rows(mail_app, OutboxMessage)
    assert ack.kind == "acknowledgement" and ack.to_address == CITIZEN
    assert ack.message_id and ack.message_id.startswith(f"aig.{ticket.commune_id}.{ticket.id}.")
    [record] = _rows(mail_app, InboundMessage)
    assert (record.status, record.ticket_id, record.decision) == (
        InboundStatus.PROCESSED, ticket.id, "new_ticket")
    assert dovecot.count(imap_user, "INBOX") == 0
    assert dovecot.count(imap_user, "Traités") == 1
    [state] = _rows_state(mail_app)
    assert state.last_uid == record.uid and state.uidvalidity == record.uidvalidity


def _rows_state(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = list(db.session.scalars(select(MailboxState)))
        db.session.expunge_all()
        return rows


def test_the_mailbox_service_hint_routes_the_ticket(make_mail_app, mailbox, dovecot,
                                                    imap_user) -> None:
    from dataclasses import replace as replace_model  # noqa: F401

    app = make_mail_app(mailbox.model_copy(update={"service_hint": "urbanisme"}))
    dovecot.append(imap_user, french_mail(subject="Question sur une déclaration préalable"))
    assert run_mail_poll(app).ok
    [ticket] = _rows(app, Ticket)
    assert ticket.service_code == "urbanisme"


def test_a_reply_to_our_signed_message_id_joins_its_ticket_and_resumes_it(
        mail_app, dovecot, imap_user, demo_accounts) -> None:
    dovecot.append(imap_user, french_mail(subject="Permis de construire"))
    assert run_mail_poll(mail_app).ok
    [ticket] = _rows(mail_app, Ticket)
    [ack] = _rows(mail_app, OutboxMessage)
    with mail_app.app_context():
        agent = db.session.scalars(select(Agent).where(
            Agent.email == "agent.voirie@champignac.example")).one()
        row = db.session.get(Ticket, ticket.id)
        assign(db.session, row, agent, Actor.agent(agent))
        set_status(db.session, row, Status.WAITING_CITIZEN, Actor.agent(agent),
                   mail_app.extensions["aiguillage"].context(DEMO).config)
        db.session.commit()

    dovecot.append(imap_user, french_mail(
        subject=f"Re: [{ticket.tracking_code}] Accusé de réception",
        body="Voici le plan de masse demandé.", headers={
            "In-Reply-To": f"<{ack.message_id}>", "References": f"<{ack.message_id}>"},
        attachments=[("plan.pdf", "application/pdf", PDF)]))
    assert run_mail_poll(mail_app).ok

    assert _count(mail_app, Ticket) == 1
    with mail_app.app_context():
        row = db.session.get(Ticket, ticket.id)
        assert row.status == Status.IN_PROGRESS
        assert row.clock_paused_at is None  # the deadline clock runs again
        inbound = [e for e in row.entries if e.kind == EntryKind.INBOUND]
        assert inbound[-1].body == "Voici le plan de masse demandé."
        assert [a.filename for a in inbound[-1].attachments] == ["plan.pdf"]
    [notice] = _rows(mail_app, OutboxMessage, OutboxMessage.kind == "agent_notification")
    assert notice.to_address == "agent.voirie@champignac.example"
    assert _count(mail_app, AuditEvent, AuditEvent.action == "ticket.citizen_replied") == 1


def test_a_reply_reopens_an_answered_ticket(mail_app, dovecot, imap_user) -> None:
    dovecot.append(imap_user, french_mail(subject="Encombrants"))
    assert run_mail_poll(mail_app).ok
    [ticket] = _rows(mail_app, Ticket)
    [ack] = _rows(mail_app, OutboxMessage)
    with mail_app.app_context():
        set_status(db.session, db.session.get(Ticket, ticket.id), Status.CLOSED,
                   Actor.system(), mail_app.extensions["aiguillage"].context(DEMO).config)
        db.session.commit()
    dovecot.append(imap_user, french_mail(subject="Re: encombrants", body="Toujours là !",
                                          headers={"In-Reply-To": f"<{ack.message_id}>"}))
    assert run_mail_poll(mail_app).ok
    [ticket] = _rows(mail_app, Ticket)
    assert ticket.status == Status.IN_PROGRESS and ticket.closed_at is None


def test_an_auto_reply_is_stored_without_ticket_or_acknowledgement(
        mail_app, dovecot, imap_user) -> None:
    dovecot.append(imap_user, french_mail(
        subject="Absence du bureau", body="Je suis absent jusqu'au 3 janvier.",
        headers={"Auto-Submitted": "auto-replied"}))
    assert run_mail_poll(mail_app).ok
    assert _count(mail_app, Ticket) == 0
    assert _count(mail_app, OutboxMessage) == 0
    [record] = _rows(mail_app, InboundMessage)
    assert (record.status, record.decision) == (InboundStatus.PROCESSED, "automatic")
    assert dovecot.count(imap_user, "Traités") == 1


def test_a_bounce_notes_the_ticket_and_flags_the_citizen_address(
        mail_app, dovecot, imap_user) -> None:
    dovecot.append(imap_user, french_mail(subject="Demande d'acte de naissance",
                                          sender="Jean Dupont <jean.dupont@example.net>"))
    assert run_mail_poll(mail_app).ok
    [ticket] = _rows(mail_app, Ticket)
    [ack] = _rows(mail_app, OutboxMessage)
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        "To: ne-pas-repondre@aiguillage.localhost\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nUser unknown: jean.dupont@example.net\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; jean.dupont@example.net\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ack.message_id}>\r\nSubject: Accuse\r\n\r\n"
        "--B--\r\n").encode()
    dovecot.append(imap_user, bounce)
    assert run_mail_poll(mail_app).ok

    assert _count(mail_app, Ticket) == 1
    with mail_app.app_context():
        row = db.session.get(Ticket, ticket.id)
        assert any(e.kind == EntryKind.NOTE and "distribué" in e.body for e in row.entries)
        assert row.citizen.email_bounced_at is not None
        assert row.status == Status.NEW
    assert _count(mail_app, OutboxMessage) == 1  # nothing answers a bounce
    assert _count(mail_app, AuditEvent, AuditEvent.action == "citizen.email_bounced") == 1


def test_the_same_mail_twice_makes_one_ticket(mail_app, dovecot, imap_user) -> None:
    raw = french_mail(subject="Chien errant", message_id="<meme-id@example.org>")
    dovecot.append(imap_user, raw, raw)
    assert run_mail_poll(mail_app).ok
    dovecot.append(imap_user, raw)  # and once more in a later run
    report = run_mail_poll(mail_app)
    assert report.ok and report.mailboxes[0].duplicates == 1
    assert _count(mail_app, Ticket) == 1
    assert _count(mail_app, InboundMessage) == 1
    assert dovecot.count(imap_user, "Traités") == 3
    assert dovecot.count(imap_user, "INBOX") == 0


def test_a_uidvalidity_change_rescans_without_duplicates(mail_app, dovecot, imap_user) -> None:
    raw = french_mail(subject="Banc cassé")
    dovecot.append(imap_user, raw)
    assert run_mail_poll(mail_app).ok
    dovecot.append(imap_user, raw)  # as if the server had renumbered and kept it in the inbox
    with mail_app.app_context():
        state = db.session.scalars(select(MailboxState)).one()
        state.uidvalidity, state.last_uid = 42, 10_000
        db.session.commit()
    assert run_mail_poll(mail_app).ok
    assert _count(mail_app, Ticket) == 1
    assert dovecot.count(imap_user, "INBOX") == 0
    [state] = _rows_state(mail_app)
    assert state.uidvalidity != 42 and state.last_uid < 10_000


def test_acknowledgements_are_capped_per_sender_and_hour(make_mail_app, mailbox, dovecot,
                                                         imap_user) -> None:
    app = make_mail_app(mailbox.model_copy(update={"ack_cap_per_hour": 2}))
    dovecot.append(imap_user, *(french_mail(subject=f"Demande {i}") for i in range(3)))
    assert run_mail_poll(app).ok
    assert _count(app, Ticket) == 3
    assert _count(app, OutboxMessage, OutboxMessage.kind == "acknowledgement") == 2
    assert _count(app, AuditEvent, AuditEvent.action == "acknowledgement.capped") == 1


def test_an_unreadable_mail_is_quarantined_at_once(mail_app, dovecot, imap_user) -> None:
    dovecot.append(imap_user, b"\r\n\r\n \r\n", french_mail(subject="Une vraie demande"))
    report = run_mail_poll(mail_app)
    assert report.ok and report.mailboxes[0].quarantined == 1
    assert _count(mail_app, Ticket) == 1
    [bad] = _rows(mail_app, InboundMessage, InboundMessage.status == InboundStatus.QUARANTINED)
    assert bad.reason.startswith("illisible")
    assert dovecot.count(imap_user, "Quarantaine") == 1
    assert dovecot.count(imap_user, "INBOX") == 0


def _on_each_request(monkeypatch, hook, after_intake: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Call ``hook(subject, session)`` for every request a mail makes to the intake use case,
    before it runs (or after, with ``after_intake``): whether the mail is in a group's batch
    or, once a group failed, handled alone."""
    real = mail_apply.submit_requests

    def wrapped(session, ctx, requests):  # type: ignore[no-untyped-def]
        for request, _ in requests if not after_intake else ():
            hook(request.subject, session)
        tickets = real(session, ctx, requests)
        for request, _ in requests if after_intake else ():
            hook(request.subject, session)
        return tickets

    monkeypatch.setattr(mail_apply, "submit_requests", wrapped)


def test_a_failing_mail_is_quarantined_after_n_attempts_without_stopping_the_loop(
        mail_app, dovecot, imap_user, monkeypatch) -> None:
    def flaky(subject, _session):  # type: ignore[no-untyped-def]
        if "piège" in subject:
            raise RuntimeError("bug du traitement")

    _on_each_request(monkeypatch, flaky)
    dovecot.append(imap_user, french_mail(subject="Courriel piège"),
                   french_mail(subject="Demande ordinaire"))
    first = run_mail_poll(mail_app)
    assert not first.ok and first.mailboxes[0].failed == 1
    assert first.mailboxes[0].processed == 1  # the next one went through
    assert not run_mail_poll(mail_app).ok
    third = run_mail_poll(mail_app)
    assert third.ok and third.mailboxes[0].quarantined == 1
    [bad] = _rows(mail_app, InboundMessage, InboundMessage.status == InboundStatus.QUARANTINED)
    assert bad.attempts == 3 and "bug du traitement" in bad.reason
    assert _count(mail_app, Ticket) == 1
    assert dovecot.subjects(imap_user, "Quarantaine") == ["Courriel piège"]


def test_a_mail_failing_after_its_ticket_was_built_leaves_nothing_behind(
        mail_app, dovecot, imap_user, monkeypatch) -> None:
    """Groups run without SAVEPOINTs first, their new tickets made in one batch: a failure
    after the batch's rows were written must take back the group's half-made tickets, and
    in the end only the bad mail's, when the group runs again."""
    def fails_late(subject, session):  # type: ignore[no-untyped-def]
        if "piège" in subject:
            session.flush()  # its ticket, thread and audit rows are written…
            raise RuntimeError("panne après coup")  # …then the mail fails

    _on_each_request(monkeypatch, fails_late, after_intake=True)
    subjects = ["Demande 1", "Demande 2", "Courriel piège", "Demande 4", "Demande 5"]
    dovecot.append(imap_user, *(french_mail(subject=s) for s in subjects))
    report = run_mail_poll(mail_app).mailboxes[0]
    assert (report.processed, report.failed) == (4, 1)
    assert sorted(t.subject for t in _rows(mail_app, Ticket)) == [
        "Demande 1", "Demande 2", "Demande 4", "Demande 5"]
    assert _count(mail_app, AuditEvent, AuditEvent.action == "ticket.created") == 4
    assert _count(mail_app, OutboxMessage) == 4
    assert dovecot.subjects(imap_user, "INBOX") == ["Courriel piège"]
    [failure] = _rows_plain(mail_app, MailFailure)
    assert failure.attempts == 1 and "panne après coup" in failure.last_error


def _rows_plain(app, model):  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = list(db.session.scalars(select(model)))
        db.session.expunge_all()
        return rows


def test_an_oversized_mail_is_quarantined_and_its_sender_told(
        make_mail_app, mailbox, dovecot, imap_user) -> None:
    app = make_mail_app(mailbox.model_copy(update={"max_message_mb": 0.01}))
    dovecot.append(imap_user, french_mail(subject="Photos", attachments=[
        ("photo.pdf", "application/pdf", PDF + b"0" * 20_000)]))
    assert run_mail_poll(app).ok
    assert _count(app, Ticket) == 0
    [record] = _rows(app, InboundMessage)
    assert record.status == InboundStatus.QUARANTINED and "volumineux" in record.reason
    [told] = _rows(app, OutboxMessage)
    assert told.kind == "mail_rejected" and told.to_address == CITIZEN
    assert dovecot.count(imap_user, "Quarantaine") == 1


def test_dovecot_restarting_mid_run_is_finished_by_the_next_run(
        mail_app, dovecot, imap_user, monkeypatch) -> None:
    calls = []

    def stop_on_third(_subject, _session):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            dovecot.stop()

    _on_each_request(monkeypatch, stop_on_third)
    dovecot.append(imap_user, *(french_mail(subject=f"Demande {i}") for i in range(6)))
    try:
        report = run_mail_poll(mail_app)
    finally:
        dovecot.start()
    assert not report.ok and "IMAP" in (report.mailboxes[0].error or "")
    assert run_mail_poll(mail_app).ok
    assert _count(mail_app, Ticket) == 6
    assert dovecot.count(imap_user, "Traités") == 6 and dovecot.count(imap_user, "INBOX") == 0


def test_a_database_outage_mid_run_is_finished_by_the_next_run(
        mail_app, dovecot, imap_user, monkeypatch) -> None:
    calls = []

    def fail_on_third(_subject, _session):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise OperationalError("INSERT …", {}, ConnectionError("server closed the connection"))

    _on_each_request(monkeypatch, fail_on_third)
    dovecot.append(imap_user, *(french_mail(subject=f"Demande {i}") for i in range(5)))
    report = run_mail_poll(mail_app)
    assert not report.ok and "database" in (report.mailboxes[0].error or "")
    assert run_mail_poll(mail_app).ok
    assert _count(mail_app, Ticket) == 5
    assert dovecot.count(imap_user, "INBOX") == 0


def test_a_missing_password_variable_is_a_clear_error(mail_app, monkeypatch) -> None:
    monkeypatch.delenv("AIGUILLAGE_TEST_IMAP_PASSWORD")
    report = run_mail_poll(mail_app)
    assert not report.ok
    assert "AIGUILLAGE_TEST_IMAP_PASSWORD" in report.mailboxes[0].summary()


def test_citizens_are_found_again_by_address(mail_app, dovecot, imap_user) -> None:
    dovecot.append(imap_user, french_mail(subject="Un"), french_mail(subject="Deux"))
    assert run_mail_poll(mail_app).ok
    assert _count(mail_app, Citizen) == 1
    assert _count(mail_app, Ticket) == 2


@pytest.mark.parametrize("name, expected", [
    ("Camille Martin", ("Camille", "Martin")),
    ("MARTIN Camille", ("Camille", "MARTIN")),
    ("Martin, Camille", ("Camille", "Martin")),
    ("", ("", "camille.martin")),
    ("camille.martin@example.org", ("", "camille.martin")),
])
def test_split_name(name: str, expected: tuple[str, str]) -> None:
    from mail_ingest.apply import split_name

    assert split_name(name, CITIZEN) == expected


def test_quarantined_mail_is_listed_for_audit_readers_only(mail_app, dovecot, imap_user,
                                                           demo_accounts) -> None:
    dovecot.append(imap_user, b"\r\n\r\n \r\n")
    assert run_mail_poll(mail_app).ok
    [bad] = _rows(mail_app, InboundMessage)

    cabinet = mail_app.test_client()
    login(cabinet, "cabinet@champignac.example")
    page = cabinet.get(f"/{DEMO}/agent/courriels/quarantaine")
    assert page.status_code == 200
    assert "illisible" in page.get_data(as_text=True)
    raw = cabinet.get(f"/{DEMO}/agent/courriels/quarantaine/{bad.id}.eml")
    assert raw.status_code == 200 and raw.data == b"\r\n\r\n \r\n"
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in raw.headers["Content-Disposition"]

    plain = mail_app.test_client()
    login(plain, "agent.voirie@champignac.example")
    assert plain.get(f"/{DEMO}/agent/courriels/quarantaine").status_code == 403
    assert plain.get(f"/{DEMO}/agent/courriels/quarantaine/{bad.id}.eml").status_code == 403
    anonymous = mail_app.test_client().get(f"/{DEMO}/agent/courriels/quarantaine")
    assert anonymous.status_code == 302


def test_a_reply_to_a_merged_duplicate_joins_the_ticket_kept_as_its_citizens_message(
        mail_app, dovecot, imap_user, demo_accounts) -> None:
    """The duplicate is closed: the citizen's new message goes to the ticket that handles
    their request now, shown on their tracking page and not on the other citizen's."""
    from ticketing.operations.merge import merge_tickets
    from ticketing.operations.tracking import tracked_request

    dovecot.append(imap_user, french_mail(subject="Nid-de-poule rue Haute"),
                   french_mail(subject="Trou dans la chaussée",
                               sender="Zoé Petit <zoe.petit@example.org>"))
    assert run_mail_poll(mail_app).ok
    duplicate, kept = _rows(mail_app, Ticket)
    [ack] = _rows(mail_app, OutboxMessage, OutboxMessage.ticket_id == duplicate.id)
    ctx = mail_app.extensions["aiguillage"].context(DEMO)
    with mail_app.app_context():
        chef = db.session.scalars(select(Agent).where(
            Agent.email == "chef.voirie@champignac.example")).one()
        kept_row = db.session.get(Ticket, kept.id)
        assign(db.session, kept_row, chef, Actor.agent(chef))
        set_status(db.session, kept_row, Status.ANSWERED, Actor.agent(chef), ctx.config)
        merge_tickets(db.session, db.session.get(Ticket, duplicate.id), kept_row,
                      Actor.agent(chef), ctx)
        db.session.commit()

    dovecot.append(imap_user, french_mail(
        subject=f"Re: [{duplicate.tracking_code}] Accusé de réception",
        body="Le trou s'est agrandi depuis.", headers={"In-Reply-To": f"<{ack.message_id}>"}))
    assert run_mail_poll(mail_app).ok

    assert _count(mail_app, Ticket) == 2
    with mail_app.app_context():
        dup_row, kept_row = db.session.get(Ticket, duplicate.id), db.session.get(Ticket, kept.id)
        assert dup_row.status == Status.CLOSED  # the duplicate stays closed
        assert kept_row.status == Status.IN_PROGRESS  # answered, now has something new
        [message] = [e for e in kept_row.entries if e.body == "Le trou s'est agrandi depuis."]
        mine = [line.entry.id for line in tracked_request(db.session, dup_row).thread
                if line.own]
        theirs = [line.entry.id for line in tracked_request(db.session, kept_row).thread]
        assert message.id in mine and message.id not in theirs
    [notice] = _rows(mail_app, OutboxMessage, OutboxMessage.kind == "agent_notification")
    assert notice.to_address == "chef.voirie@champignac.example"
