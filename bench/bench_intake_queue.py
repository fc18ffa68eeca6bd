r"""Benchmark: intake throughput (use case and public form) and the agent queue page's latency.

    python bench/bench_intake_queue.py              # a temp SQLite file
    python bench/bench_intake_queue.py --reset \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/aiguillage_bench

(a) N tickets through the intake use case, one commit each;
(b) N public form submissions through the Flask test client (GET the form, POST it with its
    CSRF token);
(c) the queue page of a voirie agent, timed with a tenth of --queue-size tickets then with all
    of them: the open backlog stays the same, only the closed history grows, so the two figures
    should be close.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, inspect, select, text

COMMUNE = "champignac-en-cambrousse"
AGENT = "agent.voirie@champignac.example"
OPEN_BACKLOG = 2000  # open tickets in the bulk data, whatever its size
QUEUE_GETS = 200
BATCH = 5000
CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
UNLIMITED = "1000000 per hour"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder")
    parser.add_argument("--reset", action="store_true",
                        help="empty the given database first (PostgreSQL: drop schema public)")
    parser.add_argument("--tickets", type=int, default=1000, help="tickets through intake (a)")
    parser.add_argument("--http", type=int, default=200, help="public form POSTs (b)")
    parser.add_argument("--queue-size", type=int, default=100_000,
                        help="tickets in the table for the queue timing (c)")
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args(argv)


# --- set-up ----------------------------------------------------------------------------


def prepare_database(url: str, reset: bool) -> None:
    from ticketing.migrate import upgrade

    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        if tables and not reset:
            sys.exit(f"{engine.url.render_as_string()} already has tables; pass --reset to "
                     "empty it (everything in it is lost)")
        if tables:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("DROP SCHEMA public CASCADE"))
                    connection.execute(text("CREATE SCHEMA public"))
                else:
                    from ticketing.models import Base

                    Base.metadata.drop_all(connection)
                    connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()
    upgrade(url)


def build_app(url: str, workdir: Path):  # type: ignore[no-untyped-def]
    # Settings are read before anything else so no secret or data lands in the repository.
    os.environ["AIGUILLAGE_DATA_DIR"] = str(workdir / "data")
    os.environ.setdefault("AIGUILLAGE_SECRET_KEY", "bench-secret-key")
    from ticketing.demo import create_demo_accounts
    from ticketing.settings import Settings
    from ticketing.web import create_app
    from ticketing.web.extensions import db

    settings = replace(
        Settings.from_environment(), database_url=url, ratelimit_storage_uri="memory://",
        public_form_limit=UNLIMITED, tracking_limit=UNLIMITED, login_limit=UNLIMITED,
    )
    app = create_app(settings)
    with app.app_context():
        create_demo_accounts(db.session, app.extensions["aiguillage"].commune_ids)
        db.session.commit()
    return app


def simple_categories(config) -> list[str]:  # type: ignore[no-untyped-def]
    """Public categories without required extra fields (the form needs nothing more)."""
    return [c.code for c in config.categories.values()
            if c.public and not any(f.required for f in c.extra_fields)]


# --- (a) intake use case ---------------------------------------------------------------


def bench_intake(app, count: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    from ticketing.config.schema import Channel
    from ticketing.operations.events import Actor
    from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
    from ticketing.web.extensions import db

    ctx = app.extensions["aiguillage"].context(COMMUNE)
    categories = [*simple_categories(ctx.config), None]
    with app.app_context():
        started = time.perf_counter()
        for i in range(count):
            request = IntakeRequest(
                channel=Channel.WEB,
                citizen=CitizenDetails(last_name=f"Usager{i % 400}", first_name="Camille",
                                       email=f"usager{i % 400}@example.org"),
                description=f"Demande de test n° {i} : le lampadaire de la rue {i % 97} "
                            "ne s'allume plus depuis hier soir.",
                received_at=datetime.now(UTC),
                category_code=rng.choice(categories),
            )
            submit_request(db.session, ctx, request, Actor.citizen("bench"))
            db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
    print(f"(a) intake use case: {count} tickets in {elapsed:.2f} s "
          f"= {count / elapsed:.0f} tickets/s ({1000 * elapsed / count:.1f} ms each)")


# --- (b) public form over HTTP ---------------------------------------------------------


def bench_public_form(app, count: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    url = f"/{COMMUNE}/demande"
    client = app.test_client()
    probe = client.get(url)
    if probe.status_code != 200 or not CSRF_INPUT.search(probe.get_data(as_text=True)):
        print(f"(b) public form: skipped, GET {url} gave {probe.status_code} without a CSRF "
              "token (is the form written yet?)")
        return
    categories = simple_categories(app.extensions["aiguillage"].context(COMMUNE).config)
    post_times: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        match = CSRF_INPUT.search(client.get(url).get_data(as_text=True))
        assert match, "no CSRF token in the form"
        data = {
            "csrf_token": match.group(1), "category": rng.choice(categories),
            "subject": f"Demande HTTP {i}",
            "description": f"Formulaire en ligne, demande n° {i} : trottoir abîmé rue {i % 53}.",
            "first_name": "Camille", "last_name": f"Martin{i % 300}",
            "email": f"camille{i % 300}@example.org", "phone": "06 12 34 56 78",
            "address": f"{i % 120} rue des Lilas", "website": "",
        }
        posted = time.perf_counter()
        response = client.post(url, data=data)
        post_times.append(time.perf_counter() - posted)
        if response.status_code != 303:
            print(f"(b) public form: POST {i} answered {response.status_code}, expected 303; "
                  "stopping", file=sys.stderr)
            print(response.get_data(as_text=True)[:2000], file=sys.stderr)
            return
    elapsed = time.perf_counter() - started
    print(f"(b) public form (GET + POST each): {count} tickets in {elapsed:.2f} s "
          f"= {count / elapsed:.0f} tickets/s; POST alone median "
          f"{1000 * statistics.median(post_times):.1f} ms")


# --- (c) the queue page ----------------------------------------------------------------


def bulk_insert(app, total: int, open_tickets: int, rng: random.Random,  # type: ignore[no-untyped-def]
                start: int) -> int:
    """Insert ``total`` tickets (``open_tickets`` of them open) with Core; returns rows added."""
    from ticketing.domain.codes import TRACKING_ALPHABET, format_ticket_number
    from ticketing.models import Citizen, Status, Ticket
    from ticketing.web.extensions import db

    registry = app.extensions["aiguillage"]
    commune_id = registry.commune_ids[COMMUNE]
    config = registry.configs[COMMUNE]
    services = list(config.services)
    weights = [6 if code == "voirie" else 3 if code in ("proprete", "eclairage") else 1
               for code in services]
    categories = [c.code for c in config.categories.values()]
    open_statuses = [Status.NEW, Status.IN_PROGRESS, Status.WAITING_CITIZEN]
    today = datetime.now(UTC)
    engine = db.engine
    with engine.begin() as connection:
        taken = set(connection.scalars(select(Ticket.tracking_code)))
        citizen_start = (connection.scalar(select(func.max(Citizen.id))) or 0) + 1
        ticket_start = (connection.scalar(select(func.max(Ticket.id))) or 0) + 1
    citizens_wanted = max(1, total // 5)
    citizen_rows = [
        {"id": citizen_start + i, "commune_id": commune_id, "first_name": "Dominique",
         "last_name": f"Volume{start + i}", "email": f"volume{start + i}@example.org",
         "phone": None, "address": None, "created_at": today}
        for i in range(citizens_wanted)
    ]
    rows = []
    for i in range(total):
        n = start + i
        is_open = i < open_tickets
        # Open tickets are recent; the history goes back years.
        age = rng.randint(0, 45) if is_open else rng.randint(60, 3650)
        received = today - timedelta(days=age, minutes=rng.randint(0, 1440))
        due = (received + timedelta(days=rng.choice((5, 10, 15, 30, 60)))).date()
        status = rng.choice(open_statuses) if is_open else (
            Status.ANSWERED if rng.random() < 0.1 else Status.CLOSED)
        code = _tracking_code(n, TRACKING_ALPHABET)
        while code in taken:
            code = _tracking_code(n + 10_000_000 * rng.randint(1, 99), TRACKING_ALPHABET)
        closed = None if is_open else received + timedelta(days=rng.randint(1, 50))
        rows.append({
            "id": ticket_start + i, "commune_id": commune_id,
            # Past years only: intake (a, b) numbers this year's tickets from 1.
            "number": format_ticket_number(1990 + n // 900_000, n % 900_000 + 1),
            "tracking_code": code, "channel": "web",
            "category_code": rng.choice(categories),
            "service_code": rng.choices(services, weights)[0], "status": status,
            "priority": "normal", "subject": f"Demande volumineuse {n}",
            "description": "Texte de la demande. " * 8, "location": None,
            "extra_fields": {}, "citizen_id": citizen_start + rng.randrange(citizens_wanted),
            "assignee_id": None, "routing_reason": "bench", "deadline_rule": "bench",
            "received_at": received, "sent_on": None,
            "ack_due_on": (received + timedelta(days=2)).date(), "answer_due_on": due,
            "acknowledged_at": received, "first_answer_at": closed, "closed_at": closed,
            "created_at": received, "updated_at": closed or received,
        })
    with engine.begin() as connection:
        for chunk in range(0, len(citizen_rows), BATCH):
            connection.execute(insert(Citizen), citizen_rows[chunk:chunk + BATCH])
        for chunk in range(0, len(rows), BATCH):
            connection.execute(insert(Ticket), rows[chunk:chunk + BATCH])
        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; later inserts must not collide.
            for table in ("citizens", "tickets"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    return total


def _tracking_code(n: int, alphabet: str) -> str:
    digits = []
    for _ in range(8):
        n, rest = divmod(n, len(alphabet))
        digits.append(alphabet[rest])
    raw = "".join(reversed(digits))
    return f"{raw[:4]}-{raw[4:]}"


def login(client) -> None:  # type: ignore[no-untyped-def]
    from ticketing.demo import DEMO_PASSWORD

    url = f"/{COMMUNE}/agent/connexion"
    match = CSRF_INPUT.search(client.get(url).get_data(as_text=True))
    if match is None:
        raise RuntimeError(f"no CSRF token on {url}")
    response = client.post(url, data={"email": AGENT, "password": DEMO_PASSWORD,
                                      "csrf_token": match.group(1)})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"login as {AGENT} failed: {response.status_code}")


def time_queue(client, label: str, table_size: int) -> None:  # type: ignore[no-untyped-def]
    url = f"/{COMMUNE}/agent/"
    first = client.get(url)
    if first.status_code != 200:
        raise RuntimeError(f"GET {url} answered {first.status_code}")
    timings = []
    for _ in range(QUEUE_GETS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(1000 * (time.perf_counter() - started))
        assert response.status_code == 200
    timings.sort()
    p95 = timings[int(0.95 * len(timings)) - 1]
    print(f"(c) queue page, {label}: {table_size:>7} tickets in the table: "
          f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms "
          f"({QUEUE_GETS} GETs)")


def explain_queue(app) -> None:  # type: ignore[no-untyped-def]
    from ticketing.models import Agent
    from ticketing.web.extensions import db
    from ticketing.web.queries import QueueFilter, queue_statement

    registry = app.extensions["aiguillage"]
    commune_id = registry.commune_ids[COMMUNE]
    with app.app_context():
        engine = db.engine
        agent_id = db.session.scalar(select(Agent.id).where(Agent.email == AGENT))
        stmt = queue_statement(commune_id, ["voirie"], QueueFilter(), date.today(), agent_id)
        compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        # Through the session's own connection: on SQLite every transaction holds the write
        # lock (BEGIN IMMEDIATE), so a second connection would wait for this one.
        plan = db.session.connection().exec_driver_sql(prefix + str(compiled)).all()
        db.session.remove()
    print("    plan of the queue query (voirie, open, by due date):")
    for row in plan:
        print("     ", row[-1])


def bench_queue(app, queue_size: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    from ticketing.models import Ticket
    from ticketing.web.extensions import db

    client = app.test_client()
    try:
        login(client)
    except RuntimeError as exc:
        print(f"(c) queue page: skipped, {exc}")
        return
    small = max(queue_size // 10, OPEN_BACKLOG)
    started = time.perf_counter()
    with app.app_context():
        bulk_insert(app, small, OPEN_BACKLOG, rng, start=0)
        size = db.session.scalar(select(func.count(Ticket.id)))
        db.session.remove()
    print(f"    bulk insert of {small} tickets: {time.perf_counter() - started:.1f} s")
    time_queue(client, "small table", size)
    if queue_size > small:
        started = time.perf_counter()
        with app.app_context():
            bulk_insert(app, queue_size - small, 0, rng, start=small)
            size = db.session.scalar(select(func.count(Ticket.id)))
            db.session.remove()
        print(f"    bulk insert of {queue_size - small} more closed tickets: "
              f"{time.perf_counter() - started:.1f} s")
        time_queue(client, "full table ", size)
    explain_queue(app)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="aiguillage-bench-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        prepare_database(url, args.reset)
        app = build_app(url, workdir)
        shown = create_engine(url)
        print(f"Aiguillage bench on {shown.dialect.name} ({shown.url.render_as_string()})")
        shown.dispose()
        bench_intake(app, args.tickets, rng)
        bench_public_form(app, args.http, rng)
        bench_queue(app, args.queue_size, rng)
        from ticketing.web.extensions import db

        with app.app_context():
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
