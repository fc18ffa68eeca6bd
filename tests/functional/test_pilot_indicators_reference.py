"""The pilot's indicators against a plain Python computation over the same tickets.

Random tickets (fixed seed) around the spring daylight-saving change and Easter Monday, then
in the last days before today, with acknowledgements, answers and due dates landing near
local midnight, reopenings and mere closings: every figure of ``compute_indicators`` must be
the one worked out ticket by ticket in Python, for the whole commune, one service and each
filter. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from ticketing.config.schema import Channel
from ticketing.domain.deadlines import add_delay
from ticketing.domain.deadlines import local_date as local_date_of
from ticketing.models import OPEN_STATUSES, Status, Ticket, utcnow
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
from ticketing.operations.tickets import set_status
from ticketing.reporting.filters import Period, PilotFilter
from ticketing.reporting.indicators import (
    ONE_WORKING_DAY,
    Indicators,
    Ratio,
    compute_indicators,
    week_buckets,
)

PARIS = ZoneInfo("Europe/Paris")
CATEGORIES = ["chaussee", "trottoir", "eclairage-panne", "depot-sauvage", "proprete",
              "reclamation", "suggestion", "question-urbanisme"]
# 20 March - 30 April 2025: summer time from 30 March 01:00 UTC, Easter Monday 21 April.
SPRING = Period(date(2025, 3, 20), date(2025, 5, 1))


def _moment(rng: random.Random, first: date, days: int) -> datetime:
    """A random instant over ``days`` days from ``first``, often close to local midnight."""
    day = datetime.combine(first + timedelta(days=rng.randrange(days)), datetime.min.time(),
                           tzinfo=PARIS)
    minutes = rng.choice([rng.randrange(24 * 60), rng.randrange(23 * 60, 24 * 60),
                          rng.randrange(0, 90)])
    return (day + timedelta(minutes=minutes, seconds=rng.randrange(60))).astimezone(UTC)


def _seed(session, ctx, rng: random.Random, first: date, days: int, count: int,  # type: ignore[no-untyped-def]
          reopened: set[int]) -> None:
    actor = Actor.system("test")
    zones = [None] + [z.code for z in ctx.config.commune.zones]
    now = utcnow()
    for _ in range(count):
        received = _moment(rng, first - timedelta(days=2), days + 4)  # some outside
        ticket = submit_request(session, ctx, IntakeRequest(
            channel=rng.choice(list(Channel)), category_code=rng.choice(CATEGORIES),
            received_at=received, zone_code=rng.choice(zones),
            citizen=CitizenDetails(last_name="Martin", first_name="Lou",
                                   email="lou.martin@example.org"),
            description="Demande de test des indicateurs.",
        ), actor)
        session.flush()
        acknowledged = received + timedelta(hours=rng.uniform(0, 100))
        answered = received + timedelta(hours=rng.expovariate(1 / 150))
        ticket.acknowledged_at = acknowledged if rng.random() < .8 and acknowledged < now \
            else None
        ticket.first_answer_at = answered if rng.random() < .75 and answered < now else None
        ticket.answer_due_on = local_date_of(received, "Europe/Paris") + timedelta(
            days=rng.randint(-2, 15))
        if ticket.first_answer_at is not None:
            set_status(session, ticket, Status.ANSWERED, actor, ctx.config)
            after = rng.choice([Status.IN_PROGRESS, Status.WAITING_CITIZEN, Status.CLOSED,
                                Status.ANSWERED])
            if after != Status.ANSWERED:
                if rng.random() < .5:  # a closing first: closed → open is a reopening too
                    set_status(session, ticket, Status.CLOSED, actor, ctx.config)
                set_status(session, ticket, after, actor, ctx.config)
                if after in OPEN_STATUSES:
                    reopened.add(ticket.id)
        elif rng.random() < .3:
            set_status(session, ticket, Status.WAITING_CITIZEN, actor, ctx.config)  # no answer


def _expected(tickets: list[Ticket], period: Period, today: date, reopened: set[int],  # type: ignore[no-untyped-def]
              config) -> Indicators:
    """Every figure, ticket by ticket."""
    def on(moment: datetime) -> date:
        return moment.astimezone(PARIS).date()

    inside = [t for t in tickets if period.start <= on(t.received_at) < period.end]
    answered = [t for t in inside if t.first_answer_at is not None]
    durations = sorted((t.first_answer_at - t.received_at).total_seconds() / 86400
                       for t in answered)

    def percentile(fraction: float) -> float | None:
        if not durations:
            return None
        rank = fraction * (len(durations) - 1)
        low, high = math.floor(rank), math.ceil(rank)
        return round(durations[low] + (durations[high] - durations[low]) * (rank - low), 2)

    def ranked(counts: Counter) -> list:  # type: ignore[type-arg]
        return sorted(counts.items(), key=lambda row: (-row[1], row[0] or ""))

    counted = [t for t in inside if t.first_answer_at is not None or t.answer_due_on < today]
    in_time = [t for t in answered if on(t.first_answer_at) <= t.answer_due_on]
    ack_part = ack_whole = 0
    for t in inside:
        due = add_delay(on(t.received_at), ONE_WORKING_DAY, config.calendar,
                        roll_forward=False)
        if t.acknowledged_at is not None:
            ack_whole += 1
            ack_part += on(t.acknowledged_at) <= due
        elif due < today:
            ack_whole += 1
    weeks = [(monday, sum(first <= on(t.received_at) < after for t in inside))
             for monday, first, after in week_buckets(period)]
    return Indicators(
        period=period, received=len(inside),
        by_channel=ranked(Counter(t.channel for t in inside)),
        by_category=ranked(Counter(t.category_code for t in inside)),
        by_week=weeks, answered=len(answered),
        median_days=percentile(0.5), p90_days=percentile(0.9),
        within_commitment=Ratio(len(in_time), len(counted)),
        acknowledged_in_time=Ratio(ack_part, ack_whole),
        reopened=Ratio(sum(t.id in reopened for t in answered), len(answered)),
    )


@pytest.fixture
def tickets(app, db_session, demo_ctx, demo_accounts):  # type: ignore[no-untyped-def]
    rng = random.Random(20250330)
    reopened: set[int] = set()
    today = local_date_of(utcnow(), "Europe/Paris")
    _seed(db_session, demo_ctx, rng, SPRING.start, SPRING.days, 70, reopened)
    _seed(db_session, demo_ctx, rng, today - timedelta(days=12), 13, 40, reopened)
    db_session.commit()
    return list(db_session.scalars(select(Ticket))), reopened, today


def _cases(config, today: date) -> list[tuple[set[str], PilotFilter, Period]]:  # type: ignore[no-untyped-def]
    everything = set(config.services)
    elu = next(z.elu for z in config.commune.zones if z.elu)
    recent = Period.last_days(today, 10)
    return [
        (everything, PilotFilter(), SPRING),
        (everything, PilotFilter(), recent),
        (everything, PilotFilter(), Period(date(2025, 3, 28), date(2025, 4, 2))),  # DST
        ({"voirie"}, PilotFilter(), SPRING),
        ({"voirie", "cabinet"}, PilotFilter(channel="web"), SPRING),
        (everything, PilotFilter(category="reclamation"), SPRING),
        (everything, PilotFilter(zone="les-cepes"), recent),
        (everything, PilotFilter(elu=elu), SPRING),
        (everything, PilotFilter(), Period(today + timedelta(days=2), today + timedelta(days=5))),
    ]


def test_every_figure_is_the_one_computed_ticket_by_ticket(db_session, demo_ctx, tickets):
    found_tickets, reopened, today = tickets
    config = demo_ctx.config
    assert reopened, "the data set must hold reopenings"
    now = utcnow()
    for services, flt, period in _cases(config, today):
        in_scope = [t for t in found_tickets if t.service_code in services and (
            flt.channel is None or t.channel == flt.channel) and (
            flt.category is None or t.category_code == flt.category) and (
            flt.zone_codes(config) is None or t.zone_code in flt.zone_codes(config))]
        expected = _expected(in_scope, period, today, reopened, config)
        found = compute_indicators(db_session, demo_ctx.commune_id, services, flt, config,
                                   period, now)
        assert astuple(found) == astuple(expected), (services, flt, period)


def test_the_reopen_rate_reads_the_reopenings_index(db_session, demo_ctx, tickets):
    """PostgreSQL: the reopenings' condition is the partial index's own (same SQL)."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("a PostgreSQL plan")
    from ticketing.reporting.indicators import _reopened_tickets

    subquery = _reopened_tickets("postgresql").compile(
        dialect=db_session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db_session.execute(text(f"EXPLAIN {subquery}")).scalars())
    db_session.rollback()
    assert "ix_audit_events_reopenings" in plan
