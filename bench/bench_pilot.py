r"""Benchmark of the cabinet pilot's queries on PostgreSQL: overdue scan, dashboard, map,
indicators, at a realistic table size (default 1 000 000 tickets).

    createdb -h 127.0.0.1 -U postgres aiguillage_pilot_bench
    .venv/bin/python bench/bench_pilot.py --reset --tickets 1000000

Bulk data (COPY, in the order of receipt): tickets received over two years, 9 services,
channels in the mix of the seed study, an open backlog of --open tickets among the last 20
days' (a third of them late), the rest answered or closed, an audit event per answered
ticket and a reopening for 3 % of them, zones and positions for half of them. Then each
query is timed (median of --repeat runs) and its EXPLAIN (ANALYZE, BUFFERS) plan printed,
to show which indexes it uses. The load ends with VACUUM ANALYZE, as autovacuum would after
such inserts (the indicators rely on index-only scans, which need the visibility map).
A database that already has tables is refused unless --reset is given, which drops its
``public`` schema (everything in it).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMUNE = "champignac-en-cambrousse"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/aiguillage_pilot_bench"
CHANNELS = [("counter", 25), ("letter", 20), ("phone", 19), ("email", 18), ("web", 14)]
SETTING = re.compile(r"\s*SELECT (set_config|current_setting)\(", re.IGNORECASE)
TICKET_COLUMNS = (
    "commune_id", "number", "tracking_code", "channel", "category_code", "service_code",
    "status", "priority", "subject", "description", "extra_fields", "citizen_id",
    "assignee_id", "routing_reason", "deadline_rule", "received_at", "ack_due_on",
    "answer_due_on", "acknowledged_at", "first_answer_at", "closed_at", "created_at",
    "updated_at", "zone_code", "latitude", "longitude",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reset", action="store_true", help="drop the public schema first")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=20_000, help="open backlog")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-load", action="store_true", help="reuse the data already there")
    return parser.parse_args(argv)


# --- set-up ----------------------------------------------------------------------------


def prepare(url: str, reset: bool) -> None:
    from ticketing.migrate import upgrade

    engine = create_engine(url)
    try:
        if inspect(engine).get_table_names():
            if not reset:
                sys.exit("the database already has tables; pass --reset to empty it")
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    upgrade(url)


def load(engine, configs, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    from ticketing.demo import create_demo_accounts
    from ticketing.models import Agent
    from ticketing.operations.communes import sync_communes

    with Session(engine) as session:
        ids = sync_communes(session, configs)
        create_demo_accounts(session, ids)
        session.commit()
        commune_id = ids[COMMUNE]
        agents = list(session.scalars(
            Agent.__table__.select().with_only_columns(Agent.id)
            .where(Agent.commune_id == commune_id)))
    config = configs[COMMUNE]
    rng = random.Random(args.seed)
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        citizens = max(args.tickets // 10, 1)
        with cursor.copy("COPY citizens (commune_id, first_name, last_name, email, created_at) "
                         "FROM STDIN") as copy:
            now = datetime.now(UTC).replace(tzinfo=None)
            for i in range(citizens):
                copy.write_row((commune_id, "Camille", f"Usager{i}", f"u{i}@example.org", now))
        cursor.execute("SELECT min(id) FROM citizens WHERE commune_id = %s", (commune_id,))
        first_citizen = cursor.fetchone()[0]
        with cursor.copy(f"COPY tickets ({', '.join(TICKET_COLUMNS)}) FROM STDIN") as copy:
            for row in ticket_rows(config, commune_id, agents, first_citizen, citizens, args,
                                   rng):
                copy.write_row(row)
        raw.commit()
        print(f"loaded {args.tickets} tickets in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        # One audit event per answered ticket; 3 % of them reopened afterwards. They follow
        # the commune's audit chain head with placeholder hashes (a bench database's chain
        # does not verify), and the head moves past them.
        cursor.execute("""
            WITH generated AS (
                SELECT commune_id, id AS ticket_id, '{"status": "in_progress"}'::json AS before,
                       '{"status": "answered"}'::json AS after, first_answer_at AS created_at
                FROM tickets WHERE first_answer_at IS NOT NULL
                UNION ALL
                SELECT commune_id, id, '{"status": "answered"}'::json,
                       '{"status": "in_progress"}'::json, first_answer_at + interval '1 day'
                FROM tickets WHERE first_answer_at IS NOT NULL AND id % 33 = 0
            )
            INSERT INTO audit_events (commune_id, ticket_id, actor_kind, actor_label, action,
                                      before, after, created_at, sequence, previous_hash, hash)
            SELECT g.commune_id, g.ticket_id, 'agent', 'bench', 'ticket.status_changed',
                   g.before, g.after, g.created_at,
                   h.last_sequence + row_number() OVER (
                       PARTITION BY g.commune_id ORDER BY g.created_at, g.ticket_id),
                   repeat('0', 64), repeat('0', 64)
            FROM generated g JOIN audit_chain_heads h ON h.commune_id = g.commune_id
        """)
        cursor.execute("""
            UPDATE audit_chain_heads h SET last_sequence = e.sequence, last_hash = e.hash
            FROM (SELECT DISTINCT ON (commune_id) commune_id, sequence, hash FROM audit_events
                  ORDER BY commune_id, sequence DESC) e
            WHERE e.commune_id = h.commune_id
        """)
        raw.commit()
        # What autovacuum does to a table after bulk inserts: statistics and the visibility
        # map (without it the indicators' index-only scans would read the table too).
        raw.driver_connection.autocommit = True  # VACUUM runs outside a transaction
        cursor.execute("VACUUM ANALYZE")
        raw.driver_connection.autocommit = False
        print(f"audit events and VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
    finally:
        raw.close()


def ticket_rows(config, commune_id, agents, first_citizen, citizens, args, rng):  # type: ignore[no-untyped-def]
    categories = [c for c in config.categories.values() if c.default_service]
    zones = [z.code for z in config.commune.zones]
    center = config.commune.map.center
    channels = [c for c, weight in CHANNELS for _ in range(weight)]
    # Naive UTC, as UTCDateTime stores it (COPY bypasses the type's conversion).
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    today = now.date()
    # Rows go in in the order a mairie receives them (ids grow with time, as in production),
    # over two years; the open backlog is among the last 20 days' tickets.
    recent = args.tickets * 20 / 730
    open_share = min(args.open / recent, 1.0) if recent else 1.0
    for i in range(args.tickets):
        age = 730 * (1 - i / args.tickets)
        received = now - timedelta(days=age, minutes=rng.uniform(0, 30))
        is_open = age <= 20 and rng.random() < open_share
        received_on = received.date()
        due = received_on + timedelta(days=rng.choice((7, 14, 15)))
        category = rng.choice(categories)
        acknowledged = received + timedelta(hours=rng.uniform(0, 72)) if rng.random() < .9 \
            else None
        answered = closed = None
        if is_open:
            status = rng.choice(("new", "in_progress", "waiting_citizen"))
            if rng.random() < 1 / 3:
                due = today - timedelta(days=rng.randint(1, 40))  # a third of them late
        else:
            answered = received + timedelta(days=rng.expovariate(1 / 6))
            status = "closed" if rng.random() < .6 else "answered"
            closed = answered if status == "closed" else None
        located = rng.random() < .5
        yield (
            commune_id, f"B{i:010d}", f"{i:09X}", rng.choice(channels), category.code,
            category.default_service, status, "normal", f"Demande {i}", "Texte de la demande.",
            json.dumps({}), first_citizen + i % citizens,
            rng.choice(agents) if rng.random() < .6 else None, "bench", "bench", received,
            received_on + timedelta(days=1), due, acknowledged, answered, closed, received,
            received, rng.choice(zones) if rng.random() < .7 else None,
            center.lat + rng.uniform(-.01, .01) if located else None,
            center.lon + rng.uniform(-.015, .015) if located else None,
        )


# --- timing ----------------------------------------------------------------------------


def timed(label: str, repeat: int, run: Callable[[], object]) -> None:
    run()  # warm the cache and the plans
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * .95))]
    print(f"{label:<58} median {statistics.median(samples):8.1f} ms   p95 {p95:8.1f} ms")


def explain(engine, label: str, run: Callable[[], object]) -> None:  # type: ignore[no-untyped-def]
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:  # one transaction: the settings the queries set
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            if SETTING.match(statement):
                connection.exec_driver_sql(statement, parameters)
                continue
            plan = connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}", parameters).scalars()
            print(f"\n--- {label}: {' '.join(statement.split())[:150]}…")
            print("\n".join(plan))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from ticketing.config import load_all
    from ticketing.domain.deadlines import local_date
    from ticketing.models import CommuneRecord, utcnow
    from ticketing.reporting.filters import Period, PilotFilter
    from ticketing.reporting.geo import map_points
    from ticketing.reporting.indicators import compute_indicators
    from ticketing.reporting.overdue import overdue_report, overdue_rows, watched_tickets

    url = make_url(args.database_url)
    if url.get_backend_name() != "postgresql":
        sys.exit("this benchmark is for PostgreSQL")
    configs = load_all(ROOT / "config")
    if not args.no_load:
        prepare(args.database_url, args.reset)
    engine = create_engine(args.database_url)
    if not args.no_load:
        load(engine, configs, args)
    config = configs[COMMUNE]
    everything = set(config.services)
    with Session(engine) as session:
        commune_id = session.scalar(
            CommuneRecord.__table__.select().with_only_columns(CommuneRecord.id)
            .where(CommuneRecord.slug == COMMUNE))
        count = session.execute(text("SELECT count(*) FROM tickets")).scalar_one()
        print(f"\n{count} tickets in the table\n")
        now = utcnow()
        today = local_date(now, config.commune.timezone)
        elu = next(z.elu for z in config.commune.zones if z.elu)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("overdue report, every service (cabinet)", lambda: overdue_report(
                session, commune_id, everything, PilotFilter(), config, today)),
            ("overdue report, voirie (chef de service)", lambda: overdue_report(
                session, commune_id, {"voirie"}, PilotFilter(), config, today)),
            (f"overdue report, élu filter ({elu})", lambda: overdue_report(
                session, commune_id, everything, PilotFilter(elu=elu), config, today)),
            ("overdue export, every row", lambda: overdue_rows(
                session, watched_tickets(commune_id, everything, PilotFilter(), config, today),
                today, config.commune.timezone, None)),
            ("map points, every service", lambda: map_points(
                session, commune_id, everything, PilotFilter(), config, today)),
            ("indicators, last 30 days", lambda: compute_indicators(
                session, commune_id, everything, PilotFilter(), config,
                Period.last_days(today), now)),
            ("indicators, last 365 days", lambda: compute_indicators(
                session, commune_id, everything, PilotFilter(), config,
                Period.last_days(today, 365), now)),
        ]
        for label, run in cases:
            timed(label, args.repeat, run)
        found = overdue_report(session, commune_id, everything, PilotFilter(), config, today)
        print(f"\noverdue {found.total_overdue}, soon due {found.total_soon_due}")
        ind = compute_indicators(session, commune_id, everything, PilotFilter(), config,
                                 Period.last_days(today), now)
        print(f"last 30 days: {ind.received} received, median {ind.median_days} d, "
              f"p90 {ind.p90_days} d, in time {ind.within_commitment.percent} %, "
              f"ack {ind.acknowledged_in_time.percent} %, reopened {ind.reopened.percent} %")
        for label, run in cases[:1] + cases[4:]:
            explain(engine, label, run)
    engine.dispose()


if __name__ == "__main__":
    main()
