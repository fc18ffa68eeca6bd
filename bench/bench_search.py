r"""Benchmark of the agents' search on PostgreSQL at 100 000 and 1 000 000 tickets, and of
the ticket page with a 200-message thread.

    createdb -h 127.0.0.1 -U postgres aiguillage_search_bench
    .venv/bin/python bench/bench_search.py --reset --tickets 100000
    .venv/bin/python bench/bench_search.py --reset --tickets 1000000

Bulk data (COPY): French requests over the commune's services (street lighting, roads,
cleanliness…: a few dozen subjects, streets and sentences, so that common words match
many tickets, as in a real mairie), a citizen for every three tickets (half of them with a
phone number), the request's message and, for half the tickets, an agent's reply. The
search index (``tickets.search_vector`` and its GIN index, migration 0011) is built by
PostgreSQL itself, as for a bulk import: GIN indexes dropped before the load and rebuilt
after, the messages' trigger disabled during their COPY and their words added to the
tickets' vectors by one UPDATE. Then ``ticketing.search.service.search`` is timed (median
and p95 of --repeat runs) for a mix of queries, for a chef de service (one service) and for
the cabinet (every service), and the plans are printed. Last, the agent ticket page
(``/<commune>/agent/tickets/<number>``) of a ticket with a 200-message thread is fetched
--page-repeat times through the Flask test client (median and p95).

A database that already has tables is refused unless --reset is given, which drops its
``public`` schema (everything in it). --no-load reuses the data already there.
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
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMUNE = "champignac-en-cambrousse"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/aiguillage_search_bench"
PASSWORD = "demo-aiguillage-2026"

SUBJECTS = {
    "eclairage": ["Lampadaire éteint", "Lampadaires en panne", "Éclairage public défaillant",
                  "Réverbère qui clignote", "Candélabre penché"],
    "voirie": ["Nid de poule", "Trottoir abîmé", "Chaussée dégradée", "Panneau de signalisation "
               "tombé", "Bouche d'égout bouchée", "Ralentisseur dangereux"],
    "proprete": ["Dépôt sauvage", "Poubelles non ramassées", "Tags sur un mur",
                 "Déjections canines", "Encombrants sur le trottoir"],
    "espaces-verts": ["Arbre dangereux", "Haie à tailler", "Pelouse non tondue",
                      "Branches tombées"],
    "urbanisme": ["Permis de construire", "Déclaration préalable de travaux",
                  "Certificat d'urbanisme", "Clôture du voisin"],
    "etat-civil": ["Acte de naissance", "Livret de famille", "Publication des bans",
                   "Reconnaissance anticipée"],
    "ecoles": ["Inscription scolaire", "Cantine de l'école", "Accueil périscolaire",
               "Transport scolaire"],
}
STREETS = ["rue des Lilas", "avenue Émile-Zola", "place du Marché", "chemin des Écoliers",
           "rue de la Fontaine", "boulevard Gambetta", "impasse des Tilleuls", "rue Haute",
           "allée des Marronniers", "route de Palombie", "rue du Château", "quai de l'Église"]
SENTENCES = [
    "Cela dure depuis plusieurs semaines.", "Les enfants passent par là pour aller à l'école.",
    "Merci de faire le nécessaire rapidement.", "J'ai déjà signalé le problème par téléphone.",
    "C'est dangereux la nuit pour les piétons.", "Les voisins se plaignent aussi.",
    "Je joins une photographie.", "Pouvez-vous me tenir informé ?",
    "La situation s'aggrave après chaque orage.", "Je reste disponible pour en parler.",
]
REPLIES = [
    "Nos équipes interviendront dans la semaine.", "Le prestataire a été missionné.",
    "Votre demande a été transmise au service compétent.",
    "La réparation est programmée pour le mois prochain.",
    "Un technicien est passé constater la situation.",
]
FIRST_NAMES = ["Camille", "Hélène", "Jérôme", "Françoise", "Loïc", "Amélie", "Noël", "Gaëlle",
               "Thomas", "Léa", "Hugo", "Chloé", "Benoît", "Zoé", "Mathéo", "Inès"]
LAST_NAMES = ["Martin", "Lévêque", "Durand", "Lefèvre", "Moreau", "Girard", "Bonnefoy",
              "Rousseau", "Mercier", "Faure", "André", "Gauthier", "Chevalier", "Perrin",
              "Dupré", "Barbier", "Leroux", "Roché", "Fontaine", "Masson"]
CHANNELS = ["counter", "letter", "phone", "email", "web"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reset", action="store_true", help="drop the public schema first")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--page-repeat", type=int, default=100)
    parser.add_argument("--thread", type=int, default=200, help="messages of the page's ticket")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-load", action="store_true", help="reuse the data already there")
    parser.add_argument("--skip-page", action="store_true", help="no ticket page benchmark")
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


def load(engine, configs, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Bulk rows by COPY; returns the commune id."""
    from ticketing.demo import create_demo_accounts
    from ticketing.operations.communes import sync_communes

    with Session(engine) as session:
        ids = sync_communes(session, configs)
        create_demo_accounts(session, ids)
        session.commit()
    commune_id = ids[COMMUNE]
    rng = random.Random(args.seed)
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)  # naive UTC, as stored
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT indexdef, indexname FROM pg_indexes "
                       "WHERE indexname LIKE 'ix_search_%'")
        search_indexes = cursor.fetchall()
        for _definition, name in search_indexes:
            cursor.execute(f"DROP INDEX {name}")
        citizens = max(args.tickets // 3, 1)
        with cursor.copy("COPY citizens (commune_id, first_name, last_name, email, phone, "
                         "created_at) FROM STDIN") as copy:
            for i in range(citizens):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{_ascii(first)}.{_ascii(last)}{i}@example.org"
                phone = f"06 {i // 1000000 % 100:02d} {i // 10000 % 100:02d} " \
                        f"{i // 100 % 100:02d} {i % 100:02d}" if i % 2 else None
                copy.write_row((commune_id, first, last, email, phone, now))
        cursor.execute("SELECT min(id) FROM citizens WHERE commune_id = %s", (commune_id,))
        first_citizen = cursor.fetchone()[0]
        columns = ("commune_id, number, tracking_code, channel, service_code, status, "
                   "priority, subject, description, location, extra_fields, citizen_id, "
                   "routing_reason, deadline_rule, received_at, ack_due_on, answer_due_on, "
                   "created_at, updated_at")
        bodies: list[str] = []
        with cursor.copy(f"COPY tickets ({columns}) FROM STDIN") as copy:
            for i in range(args.tickets):
                service = rng.choice(list(SUBJECTS))
                subject = rng.choice(SUBJECTS[service])
                street = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
                body = (f"Bonjour, {subject.lower()} au {street}. "
                        f"{' '.join(rng.sample(SENTENCES, 2))} Dossier {i}.")
                bodies.append(body)
                received = now - timedelta(days=730 * (1 - i / args.tickets))
                copy.write_row((
                    commune_id, f"B{i:010d}", f"{i:09X}", rng.choice(CHANNELS), service,
                    rng.choice(("new", "in_progress", "answered", "closed", "closed")),
                    "normal", subject, body, street, json.dumps({}),
                    first_citizen + rng.randrange(citizens), "bench", "bench", received,
                    received.date() + timedelta(days=1), received.date() + timedelta(days=15),
                    received, received))
        cursor.execute("SELECT min(id) FROM tickets WHERE commune_id = %s", (commune_id,))
        first_ticket = cursor.fetchone()[0]
        # The messages' trigger adds each one to its ticket's vector: in bulk, once after.
        cursor.execute("ALTER TABLE thread_entries DISABLE TRIGGER search_entries")
        with cursor.copy("COPY thread_entries (commune_id, ticket_id, kind, author_signature, "
                         "subject, body, created_at) FROM STDIN") as copy:
            for i, body in enumerate(bodies):
                copy.write_row((commune_id, first_ticket + i, "inbound", "", "", body, now))
                if i % 2:
                    copy.write_row((commune_id, first_ticket + i, "reply", "Le service", "",
                                    f"Madame, Monsieur, {rng.choice(REPLIES)} Cordialement.",
                                    now))
        raw.commit()
        print(f"loaded {args.tickets} tickets, {citizens} citizens and "
              f"{args.tickets * 3 // 2} messages in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        cursor.execute("""
            UPDATE tickets SET search_vector = search_vector || thread.words
            FROM (SELECT ticket_id, search_words(string_agg(subject || ' ' || body, ' ')) AS words
                  FROM thread_entries GROUP BY ticket_id) AS thread
            WHERE thread.ticket_id = tickets.id
        """)
        cursor.execute("ALTER TABLE thread_entries ENABLE TRIGGER search_entries")
        raw.commit()
        print(f"threads added to the tickets' vectors in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        for definition, _name in search_indexes:
            cursor.execute(definition)
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
        print(f"GIN indexes and ANALYZE in {time.perf_counter() - started:.0f} s")
    finally:
        raw.close()
    return commune_id


def _ascii(name: str) -> str:
    from ticketing.search.text import fold

    return re.sub(r"[^a-z]", "", fold(name))


# --- timing ----------------------------------------------------------------------------


def timed(label: str, repeat: int, run: Callable[[], object]) -> list[float]:
    run()  # warm the cache and the plans
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    print(f"{label:<62} median {statistics.median(samples):8.1f} ms   "
          f"p95 {p95(samples):8.1f} ms")
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * .95))]


def explain(engine, label: str, run: Callable[[], object]) -> None:  # type: ignore[no-untyped-def]
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    # The page's query, in the last window it needed.
    pages = [(sql, parameters) for sql, parameters in statements
             if "ORDER BY tickets.id DESC" in sql]
    for statement, parameters in pages[-1:]:
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}", parameters).scalars()
            print(f"\n--- {label}")
            print("\n".join(plan))


def search_benchmark(engine, commune_id: int, services: set[str], args) -> None:  # type: ignore[no-untyped-def]
    from ticketing.search.service import search

    with Session(engine) as session:
        count = session.execute(text("SELECT count(*) FROM tickets")).scalar_one()
        sample = session.execute(text(
            "SELECT t.number, t.tracking_code, c.last_name, c.phone FROM tickets t "
            "JOIN citizens c ON c.id = t.citizen_id WHERE c.phone IS NOT NULL "
            "ORDER BY t.id DESC LIMIT 1")).one()
        print(f"\n{count} tickets in the table\n")
        queries = [
            ("common word: lampadaires", "lampadaires"),
            ("two words: eclairage public", "eclairage public"),
            ("three words: nid de poule lilas", "nid de poule lilas"),
            ("word of a reply: prestataire", "prestataire"),
            ("rare: dossier <n>", f"dossier {count // 2}"),
            ("no match: xylophone", "xylophone"),
            ("citizen name", f"{sample.last_name}"),
            ("phone number", sample.phone.replace(" ", "")),
            ("ticket number", sample.number),
            ("tracking code", sample.tracking_code),
        ]
        scopes = [("voirie", {"voirie"}), ("every service", services)]
        every: list[float] = []
        for scope, visible in scopes:
            print(f"-- as an agent who sees: {scope}")
            for label, query in queries:
                every += timed(f"{label}", args.repeat, lambda q=query, v=visible: search(
                    session, commune_id, q, v))
        print(f"\nall search queries together: median {statistics.median(every):.1f} ms, "
              f"p95 {p95(every):.1f} ms\n")
        for label, query in queries[:2] + queries[6:7]:
            explain(engine, f"{label} (every service)",
                    lambda q=query: search(session, commune_id, q, services))


def ticket_page_benchmark(url: str, configs, args) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    from ticketing.config.schema import Channel
    from ticketing.models import Agent, EntryKind, ThreadEntry
    from ticketing.operations.events import Actor
    from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
    from ticketing.settings import Settings
    from ticketing.web import create_app
    from ticketing.web.extensions import db

    settings = replace(Settings.from_environment(), database_url=url,
                       config_dir=ROOT / "config", themes_dir=ROOT / "themes",
                       data_dir=Path(tempfile.mkdtemp()), secret_key="bench",
                       ratelimit_storage_uri="memory://", smtp_port=1)
    app = create_app(settings, configs, overrides={"TESTING": True, "RATELIMIT_ENABLED": False})
    ctx = app.extensions["aiguillage"].context(COMMUNE)
    with app.app_context():
        agent = db.session.scalars(select(Agent).where(
            Agent.email == "chef.voirie@champignac.example")).one()
        ticket = submit_request(db.session, ctx, IntakeRequest(
            channel=Channel.WEB, forced_service="voirie", subject="Nid de poule géant",
            citizen=CitizenDetails(last_name="Lévêque", first_name="Hélène",
                                   email="helene.bench@example.org"),
            description="Un nid de poule énorme devant la mairie.",
            received_at=datetime.now(UTC)), Actor.citizen("bench"))
        db.session.flush()
        for i in range(args.thread - 1):
            kind = (EntryKind.INBOUND, EntryKind.REPLY, EntryKind.NOTE)[i % 3]
            db.session.add(ThreadEntry(
                commune_id=ctx.commune_id, ticket_id=ticket.id, kind=kind,
                author_agent_id=agent.id if kind != EntryKind.INBOUND else None,
                author_signature="Léon Prunelle\nChef du service Voirie"
                if kind != EntryKind.INBOUND else "",
                subject=f"Message {i}", body=f"Message numéro {i} : " + " ".join(SENTENCES)))
        db.session.commit()
        number = ticket.number
    client = app.test_client()
    login_url = f"/{COMMUNE}/agent/connexion"
    page = client.get(login_url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    client.post(login_url, data={"email": "chef.voirie@champignac.example",
                                 "password": PASSWORD, "csrf_token": token.group(1)})
    url = f"/{COMMUNE}/agent/tickets/{number}"

    def fetch() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    timed(f"ticket page, {args.thread}-message thread (test client)", args.page_repeat, fetch)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from ticketing.config import load_all
    from ticketing.models import CommuneRecord

    if make_url(args.database_url).get_backend_name() != "postgresql":
        sys.exit("this benchmark is for PostgreSQL")
    configs = load_all(ROOT / "config")
    if not args.no_load:
        prepare(args.database_url, args.reset)
    engine = create_engine(args.database_url)
    if not args.no_load:
        load(engine, configs, args)
    with Session(engine) as session:
        commune_id = session.scalar(select(CommuneRecord.id).where(CommuneRecord.slug == COMMUNE))
    search_benchmark(engine, commune_id, set(configs[COMMUNE].services), args)
    engine.dispose()
    if not args.skip_page:
        print()
        ticket_page_benchmark(args.database_url, configs, args)


if __name__ == "__main__":
    main()
