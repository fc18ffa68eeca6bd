"""The deadline clock on real tickets: paused while waiting for the citizen, resumed on a
status change or the citizen's answer, audited; due dates recomputed only when asked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ticketing.domain.deadlines import local_date
from ticketing.models import AuditEvent, Status, Ticket, utcnow
from ticketing.operations.deadlines import recompute_due_dates, resume_clock
from ticketing.operations.events import Actor
from ticketing.operations.tickets import reply_to_citizen, set_status

PARIS = ZoneInfo("Europe/Paris")
AGENT = Actor.system("test")


def ticket_by_number(session, number: str) -> Ticket:  # type: ignore[no-untyped-def]
    return session.scalars(select(Ticket).where(Ticket.number == number)).one()


def events(session, ticket: Ticket, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.ticket_id == ticket.id, AuditEvent.action == action).order_by(AuditEvent.id)))


def next_working_day(day: date, calendar) -> date:  # type: ignore[no-untyped-def]
    while day.weekday() >= 5 or calendar.is_closed(day):
        day += timedelta(days=1)
    return day


def test_waiting_for_the_citizen_pauses_then_resuming_extends_the_answer_date(
        db_session, demo_ctx, file_request) -> None:  # type: ignore[no-untyped-def]
    number, _ = file_request()  # web, today: 7 calendar days (demo rule)
    ticket = ticket_by_number(db_session, number)
    first_due = ticket.answer_due_on

    set_status(db_session, ticket, Status.WAITING_CITIZEN, AGENT, demo_ctx.config)
    db_session.commit()
    assert ticket.clock_paused_at is not None
    assert ticket.answer_due_on == first_due  # a pause alone moves nothing

    # Five days later (we move the pause back rather than the clock forward).
    ticket.clock_paused_at = utcnow() - timedelta(days=5)
    db_session.commit()
    set_status(db_session, ticket, Status.IN_PROGRESS, AGENT, demo_ctx.config)
    db_session.commit()

    assert ticket.clock_paused_at is None
    waited = (local_date(utcnow(), demo_ctx.timezone)
              - local_date(utcnow() - timedelta(days=5), demo_ctx.timezone)).days
    assert ticket.paused_days == waited == 5
    # Calendar-day rule: five more days, then the next open day if that one is closed.
    assert ticket.answer_due_on == next_working_day(first_due + timedelta(days=5),
                                                    demo_ctx.config.calendar)
    [paused] = events(db_session, ticket, "deadline.clock_paused")
    [resumed] = events(db_session, ticket, "deadline.clock_resumed")
    assert paused.after["clock_paused_at"]
    assert resumed.before["answer_due_on"] == first_due.isoformat()
    assert resumed.after["answer_due_on"] == ticket.answer_due_on.isoformat()
    assert resumed.after["paused_days"] == 5


def test_a_reply_asking_for_documents_pauses_and_the_citizens_answer_resumes(
        db_session, demo_ctx, demo_accounts, file_request) -> None:  # type: ignore[no-untyped-def]
    from ticketing.models import Agent

    number, _ = file_request()
    ticket = ticket_by_number(db_session, number)
    agent = db_session.scalars(select(Agent).where(
        Agent.email == "agent.eclairage@champignac.example")).one()
    reply_to_citizen(db_session, demo_ctx, ticket, agent, "Merci d'envoyer une photo.",
                     Actor.agent(agent), new_status=Status.WAITING_CITIZEN)
    db_session.commit()
    assert ticket.clock_paused_at is not None

    # The mail channel's call when the citizen answers.
    citizen = Actor.citizen("Camille Martin")
    assert resume_clock(db_session, ticket, citizen, demo_ctx.config) is not None
    db_session.commit()
    assert ticket.clock_paused_at is None
    # already running: nothing
    assert resume_clock(db_session, ticket, AGENT, demo_ctx.config) is None


def test_a_working_day_pause_over_a_weekend_counts_only_the_working_days_lost(
        db_session, other_ctx, file_request) -> None:  # type: ignore[no-untyped-def]
    # Moselle commune, working days. Received Monday 14 Dec 2026: due 5 working days later.
    number, _ = file_request("trifouillis-les-oies",
                             received_at=datetime(2026, 12, 14, 10, tzinfo=PARIS))
    ticket = ticket_by_number(db_session, number)
    assert ticket.answer_due_on == date(2026, 12, 21)
    ticket.status = Status.WAITING_CITIZEN
    ticket.clock_paused_at = datetime(2026, 12, 18, 9, tzinfo=PARIS)  # Friday

    resume_clock(db_session, ticket, AGENT, other_ctx.config,
                 now=datetime(2026, 12, 21, 9, tzinfo=PARIS))

    # One working day lost (Monday 21); 3 calendar days waited. From Monday 21 Dec:
    # + 1 working day = Tuesday 22.
    assert ticket.paused_days == 3
    assert ticket.answer_due_on == date(2026, 12, 22)


def test_decision_date_is_set_at_intake_and_follows_l114_5(
        db_session, demo_ctx, file_request) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 3, 16, 10, tzinfo=PARIS)
    rejection, _ = file_request(category_code="subvention-association", received_at=received,
                                extra_fields={"nom_association": "Lilas", "montant": "100"})
    acceptance, _ = file_request(category_code="occupation-domaine-public", received_at=received,
                                 extra_fields={"adresse_incident": "1 rue des Lilas",
                                               "date_debut": "2026-06-01",
                                               "date_fin": "2026-06-02"})
    plain, _ = file_request(received_at=received)
    refused = ticket_by_number(db_session, rejection)
    accepted = ticket_by_number(db_session, acceptance)
    assert refused.decision_due_on == accepted.decision_due_on == date(2026, 5, 16)
    assert ticket_by_number(db_session, plain).decision_due_on is None
    assert refused.deadline_rule == "Demandes appelant une décision"  # kinds: [decision]

    for ticket in (refused, accepted):
        ticket.clock_paused_at = datetime(2026, 3, 20, 10, tzinfo=PARIS)
        resume_clock(db_session, ticket, AGENT, demo_ctx.config,
                     now=datetime(2026, 4, 1, 10, tzinfo=PARIS))

    # Rejection: suspended for the 12 days waited. Acceptance: two months from the answer.
    assert refused.decision_due_on == date(2026, 5, 28)
    assert accepted.decision_due_on == date(2026, 6, 1)


def test_changing_the_rules_keeps_existing_dates_until_an_administrator_recomputes(
        db_session, demo_ctx, file_request) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 6, 1, 10, tzinfo=PARIS)  # Monday
    number, _ = file_request(received_at=received)
    ticket = ticket_by_number(db_session, number)
    assert ticket.answer_due_on == date(2026, 6, 8)
    # A pause of three days already over (2 to 5 June): recomputing must replay it.
    ticket.clock_paused_at = datetime(2026, 6, 2, 10, tzinfo=PARIS)
    resume_clock(db_session, ticket, AGENT, demo_ctx.config,
                 now=datetime(2026, 6, 5, 10, tzinfo=PARIS))
    db_session.commit()
    before = ticket.answer_due_on
    assert before == date(2026, 6, 11)

    # Same rules: nothing to change, nothing written.
    assert recompute_due_dates(db_session, demo_ctx, AGENT) == []
    assert events(db_session, ticket, "deadline.recomputed") == []

    # New rules: web requests now get 10 days. The ticket keeps its date until asked.
    config = demo_ctx.config
    rules = config.deadlines.model_copy(update={"rules": [
        r.model_copy(update={"answer": r.answer.model_copy(update={"days": 10})})
        if "web" in r.channels else r for r in config.deadlines.rules]})
    new_ctx = replace(demo_ctx, config=replace(config, deadlines=rules))
    db_session.refresh(ticket)
    assert ticket.answer_due_on == before

    changed = recompute_due_dates(db_session, new_ctx, Actor.system("administrateur"),
                                  [ticket])
    db_session.commit()

    assert changed == [ticket]
    # 1 June + 10 = Thursday 11 June, + 3 days paused = Sunday 14 → Monday 15 June.
    assert ticket.answer_due_on == date(2026, 6, 15)
    [event] = events(db_session, ticket, "deadline.recomputed")
    assert event.actor_label == "administrateur"
    assert event.before["answer_due_on"] == before.isoformat()
    assert event.after["answer_due_on"] == ticket.answer_due_on.isoformat()


def test_recompute_covers_open_tickets_only(db_session, demo_ctx, file_request) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 6, 1, 10, tzinfo=UTC)
    open_number, _ = file_request(received_at=received)
    closed_number, _ = file_request(received_at=received)
    closed = ticket_by_number(db_session, closed_number)
    set_status(db_session, closed, Status.CLOSED, AGENT, demo_ctx.config)
    for number in (open_number, closed_number):
        ticket_by_number(db_session, number).answer_due_on = date(2030, 1, 1)
    db_session.commit()

    changed = recompute_due_dates(db_session, demo_ctx, AGENT)

    assert [t.number for t in changed] == [open_number]
    assert closed.answer_due_on == date(2030, 1, 1)


def test_agent_page_shows_the_decision_countdown_and_the_paused_clock(
        app, client, db_session, demo_ctx, demo_accounts, file_request) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import login

    number, _ = file_request(category_code="subvention-association",
                             extra_fields={"nom_association": "Lilas", "montant": "100"})
    ticket = ticket_by_number(db_session, number)
    set_status(db_session, ticket, Status.WAITING_CITIZEN, AGENT, demo_ctx.config)
    db_session.commit()
    left = (ticket.decision_due_on - local_date(utcnow(), "Europe/Paris")).days
    db_session.close()

    login(client, "cabinet@champignac.example")
    page = client.get(f"/champignac-en-cambrousse/agent/tickets/{number}").get_data(as_text=True)

    assert f"Décision implicite le {ticket.decision_due_on:%d/%m/%Y} (dans {left} jours)" in page
    assert "Délai suspendu depuis le " in page
