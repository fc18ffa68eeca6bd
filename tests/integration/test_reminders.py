"""The deadline jobs against a real database: who is told what and when, and never twice."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ticketing.models import Agent, Notification, OutboxMessage, Ticket
from ticketing.operations.accounts import create_agent
from ticketing.operations.events import Actor
from ticketing.operations.job_lock import job_lock
from ticketing.operations.reminders import run_deadline_jobs
from ticketing.operations.tickets import assign

PARIS = ZoneInfo("Europe/Paris")
JEANNE = "agent.eclairage@champignac.example"  # agent, service eclairage
YVES = "agent.voirie@champignac.example"  # agent, service voirie
CABINET = "cabinet@champignac.example"  # role cabinet: the whole commune
CHEF_ECLAIRAGE = "chef.eclairage@champignac.example"  # manager in services.yaml, no account
CHEF_CABINET = "chef.cabinet@champignac.example"
KINDS = ("deadline_warning", "escalation", "ack_overdue", "decision_alert", "digest")


def at(day: int, month: int = 6, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=PARIS)


@pytest.fixture
def lamp(db_session, demo_accounts, file_request) -> Ticket:  # type: ignore[no-untyped-def]
    """A broken street lamp reported on the web on Monday 1 June 2026, taken by Jeanne.

    Demo web rule: answer within 7 calendar days (Monday 8 June), acknowledgement within
    1 working day (2 June), warning 2 working days before, escalation 1, 5 and 10
    working days after.
    """
    number, _ = file_request(category_code="eclairage-panne", received_at=at(1, hour=12),
                             extra_fields={"adresse_incident": "12 rue des Lilas"})
    ticket = db_session.scalars(select(Ticket).where(Ticket.number == number)).one()
    jeanne = db_session.scalars(select(Agent).where(Agent.email == JEANNE)).one()
    assign(db_session, ticket, jeanne, Actor.agent(jeanne))
    db_session.commit()
    assert ticket.answer_due_on.isoformat() == "2026-06-08"
    return ticket


def sent(session, kind: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Recipients of the queued mails of ``kind``, sorted."""
    return sorted(session.scalars(select(OutboxMessage.to_address)
                                  .where(OutboxMessage.kind == kind)))


def all_sent(session) -> Counter:  # type: ignore[no-untyped-def]
    rows = session.execute(select(OutboxMessage.kind, OutboxMessage.to_address,
                                  OutboxMessage.ticket_id)
                           .where(OutboxMessage.kind.in_(KINDS))).all()
    return Counter(rows)


def test_warning_goes_to_the_assignee_two_working_days_before_and_only_once(
        db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    # Wednesday 3 June: Thursday, Friday and Monday are left, three working days.
    assert run_deadline_jobs(db_session, [demo_ctx], at(3)).warnings == 0
    # Thursday 4 June: two working days left.
    assert run_deadline_jobs(db_session, [demo_ctx], at(4)).warnings == 1
    assert run_deadline_jobs(db_session, [demo_ctx], at(4, hour=16)).warnings == 0
    assert run_deadline_jobs(db_session, [demo_ctx], at(5)).warnings == 0

    assert sent(db_session, "deadline_warning") == [JEANNE]
    db_session.refresh(lamp)
    assert lamp.warned_at is not None
    body = db_session.scalars(select(OutboxMessage.body_text)
                              .where(OutboxMessage.kind == "deadline_warning")).one()
    assert f"La demande n° {lamp.number} arrive à échéance" in body
    assert "lundi 8 juin 2026" in body
    assert f"/champignac-en-cambrousse/agent/tickets/{lamp.number}" in body


def test_escalation_steps_raise_the_level_and_tell_more_people(db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    # Tuesday 9 June: first working day late, step 1 (assignee, service managers).
    assert run_deadline_jobs(db_session, [demo_ctx], at(9)).escalations == 2
    db_session.refresh(lamp)
    assert lamp.escalation_level == 1
    assert sent(db_session, "escalation") == [JEANNE, CHEF_ECLAIRAGE]

    # Friday 12 June: still step 1, nothing new.
    assert run_deadline_jobs(db_session, [demo_ctx], at(12)).escalations == 0
    # Monday 15 June: five working days late (9, 10, 11, 12, 15), step 2.
    assert run_deadline_jobs(db_session, [demo_ctx], at(15)).escalations == 2
    db_session.refresh(lamp)
    assert lamp.escalation_level == 2
    assert sent(db_session, "escalation") == sorted([JEANNE, CHEF_ECLAIRAGE, CHEF_ECLAIRAGE,
                                                     CABINET])
    subjects = db_session.scalars(select(OutboxMessage.subject)
                                  .where(OutboxMessage.kind == "escalation")).all()
    assert sum("Relance n° 2" in s for s in subjects) == 2
    levels = [e for e in db_session.scalars(select(Notification.period_key)
                                            .where(Notification.kind == "escalation"))]
    assert sorted(set(levels)) == ["2026-06-08#1", "2026-06-08#2"]


def test_running_every_job_twice_sends_nothing_twice(db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    first = run_deadline_jobs(db_session, [demo_ctx], at(23))
    outbox_rows = db_session.scalar(select(func.count()).select_from(OutboxMessage))
    notifications = db_session.scalar(select(func.count()).select_from(Notification))

    second = run_deadline_jobs(db_session, [demo_ctx], at(23))

    assert first.total() > 0 and first.escalations and first.ack_alerts and first.digests
    assert second.total() == 0
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_rows
    assert db_session.scalar(select(func.count()).select_from(Notification)) == notifications
    assert all(count == 1 for count in all_sent(db_session).values())


def test_nobody_is_told_about_a_ticket_they_may_not_open(db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    create_agent(db_session, demo_ctx.commune_id, "gestion.comptes@champignac.example", "Admin",
                 "mot-de-passe-tres-long", Actor.system(), memberships=[("courrier",
                                                                         "administrateur")])
    db_session.commit()
    config = demo_ctx.config
    step = {"after": {"days": 1, "unit": "working"},
            "notify": ["role:agent", "role:administrateur", "role:cabinet"]}
    rules = config.deadlines.model_copy(update={"rules": [
        r.model_copy(update={"escalation": [type(r.escalation[0]).model_validate(step)]})
        if "web" in r.channels else r for r in config.deadlines.rules]})
    ctx = replace(demo_ctx, config=replace(config, deadlines=rules))

    run_deadline_jobs(db_session, [ctx], at(9))

    # Jeanne (agent of eclairage) and the cabinet (whole commune) may view the ticket;
    # Yves is an agent of voirie only; the administrator manages accounts, not requests.
    assert sent(db_session, "escalation") == sorted([CABINET, JEANNE])
    assert YVES not in sent(db_session, "digest")


def test_an_acknowledgement_not_sent_in_time_alerts_the_service_managers(
        db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    # Due Tuesday 2 June; the outbox never sent it (no mail server in this test).
    assert run_deadline_jobs(db_session, [demo_ctx], at(2)).ack_alerts == 0
    assert run_deadline_jobs(db_session, [demo_ctx], at(3)).ack_alerts == 1
    assert run_deadline_jobs(db_session, [demo_ctx], at(4)).ack_alerts == 0
    assert sent(db_session, "ack_overdue") == [CHEF_ECLAIRAGE]


def test_an_acknowledged_request_raises_no_alert(db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    lamp.acknowledged_at = at(1, hour=13)
    db_session.commit()

    assert run_deadline_jobs(db_session, [demo_ctx], at(3)).ack_alerts == 0


def test_the_implicit_decision_is_announced_before_it_is_born(
        db_session, demo_ctx, demo_accounts, file_request) -> None:  # type: ignore[no-untyped-def]
    # Received Monday 16 March 2026: silence means rejection on Saturday 16 May.
    file_request(category_code="subvention-association", received_at=at(16, month=3),
                 extra_fields={"nom_association": "Les Amis des Lilas", "montant": "1500"})

    # 15 calendar days before (decision_alert_before): from Friday 1 May.
    assert run_deadline_jobs(db_session, [demo_ctx], at(30, month=4)).decision_alerts == 0
    assert run_deadline_jobs(db_session, [demo_ctx], at(1, month=5)).decision_alerts == 1
    assert run_deadline_jobs(db_session, [demo_ctx], at(2, month=5)).decision_alerts == 0

    assert sent(db_session, "decision_alert") == [CHEF_CABINET]
    body = db_session.scalars(select(OutboxMessage.body_text)
                              .where(OutboxMessage.kind == "decision_alert")).one()
    assert "décision implicite de rejet" in body
    assert "samedi 16 mai 2026" in body
    assert "(dans 15 jours)" in body


def test_daily_digest_per_agent_and_per_manager_after_seven(db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    assert run_deadline_jobs(db_session, [demo_ctx], at(9, hour=6)).digests == 0
    assert run_deadline_jobs(db_session, [demo_ctx], at(9, hour=8)).digests == 2
    assert run_deadline_jobs(db_session, [demo_ctx], at(9, hour=18)).digests == 0

    assert sent(db_session, "digest") == [JEANNE, CHEF_ECLAIRAGE]
    bodies = dict(db_session.execute(select(OutboxMessage.to_address, OutboxMessage.body_text)
                                     .where(OutboxMessage.kind == "digest")).all())
    assert "Demandes dont vous êtes chargé(e)" in bodies[JEANNE]
    assert "Demandes de vos services" in bodies[CHEF_ECLAIRAGE]
    for body in bodies.values():
        assert f"n° {lamp.number}" in body and "(EN RETARD)" in body
    # Next day, a new digest.
    assert run_deadline_jobs(db_session, [demo_ctx], at(10, hour=8)).digests == 2


def test_a_paused_clock_stops_warnings_and_escalations(db_session, demo_ctx, lamp) -> None:  # type: ignore[no-untyped-def]
    lamp.clock_paused_at = at(3)
    db_session.commit()

    report = run_deadline_jobs(db_session, [demo_ctx], at(15))

    assert report.warnings == report.escalations == 0


def test_only_one_runner_holds_a_job_lock(app) -> None:  # type: ignore[no-untyped-def]
    from ticketing.web.extensions import db

    with app.app_context():
        with job_lock(db.engine, "deadlines") as first:
            with job_lock(db.engine, "deadlines") as second:
                assert first is True and second is False
            with job_lock(db.engine, "other-job") as other:
                assert other is True
        with job_lock(db.engine, "deadlines") as again:
            assert again is True


def test_the_scheduler_job_runs_twice_without_sending_twice(app, db_session, lamp) -> None:  # type: ignore[no-untyped-def]
    from ticketing.jobs import run_deadlines
    from ticketing.web.extensions import db

    db_session.close()  # SQLite: let the job's own session write
    first = run_deadlines(app)
    second = run_deadlines(app)

    assert first is not None and first.total() > 0  # today the lamp is long overdue
    assert second is not None and second.total() == 0
    with app.app_context():
        assert all(count == 1 for count in all_sent(db.session).values())
