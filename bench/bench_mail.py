r"""Benchmark: the mail poller's throughput and memory on a large mailbox.

    python bench/bench_mail.py                       # 10 000 mails, a temp SQLite file
    python bench/bench_mail.py --count 2000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Generates --count realistic French citizens' mails (accents in UTF-8 and ISO-8859-1,
some with a PDF, some HTML-only, a few auto-replies), APPENDs them to a private Dovecot
(run as root, like the tests), runs ONE poll pass, and prints mails per second, tickets
created and the process's peak RSS before and after the pass: the poller streams in batches,
so the growth must not follow the mailbox size. On PostgreSQL the run uses a private schema
of the given database, dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.dovecot import PASSWORD as DOVECOT_PASSWORD  # noqa: E402
from tests.dovecot import Dovecot  # noqa: E402

COMMUNE = "champignac-en-cambrousse"
PASSWORD_ENV = "AIGUILLAGE_BENCH_IMAP_PASSWORD"
USER = "mairie@champignac.example"

FIRST = ["Camille", "Jean", "Marie", "Noël", "Hélène", "François", "Zoé", "Gaëlle", "Jérôme",
         "Amélie", "Loïc", "Cécile", "Benoît", "Maëlys", "Raphaël"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Lefèvre", "Moreau", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine"]
TOPICS = [
    ("Lampadaire éteint rue des Lilas", "Le lampadaire devant le {n} rue des Lilas ne "
     "s'allume plus depuis trois soirs. Le trottoir est très sombre."),
    ("Nid-de-poule dangereux", "Un nid-de-poule s'est creusé au carrefour de l'école, "
     "près du n° {n}. Un cycliste a failli tomber ce matin."),
    ("Dépôt sauvage d'encombrants", "Des meubles et des gravats ont été déposés au bout du "
     "chemin des Saules (au niveau du {n}). Pouvez-vous les faire enlever ?"),
    ("Demande d'acte de naissance", "Je souhaiterais obtenir une copie intégrale de mon acte "
     "de naissance, né(e) à Champignac le {n} mars 1987."),
    ("Question sur une déclaration préalable", "Je souhaite poser une clôture de 1,80 m ; "
     "faut-il une déclaration préalable ? Parcelle AB {n}."),
    ("Inscription à la cantine", "Mon fils entre en CE1 à l'école Jules-Ferry ; comment "
     "l'inscrire à la cantine pour la rentrée ? Dossier n° {n}."),
]
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n" + b"0" * 20_000

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="mails in the mailbox")
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true",
                        help="print SQL statements per mail and the top of a cProfile")
    return parser.parse_args(argv)


def french_mail(rng: random.Random, i: int) -> bytes:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    subject, body = rng.choice(TOPICS)
    message = EmailMessage()
    message["From"] = f"{first} {last} <{first.lower()}.{last.lower()}{i % 500}@example.org>"
    message["To"] = USER
    message["Subject"] = f"{subject} ({i})"
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain="example.org")
    kind = rng.random()
    if kind < 0.03:
        message["Auto-Submitted"] = "auto-replied"
        message.replace_header("Subject", "Absence du bureau")
    text = f"Bonjour,\n\n{body.format(n=i)}\n\nCordialement,\n{first} {last}\n"
    if 0.03 <= kind < 0.13:
        message.set_content(f"<p>Bonjour,</p><p>{body.format(n=i)}</p><p>{first} {last}</p>",
                            subtype="html")
    else:
        message.set_content(text, charset="iso-8859-1" if kind > 0.8 else "utf-8")
    if 0.13 <= kind < 0.25:
        message.add_attachment(PDF, maintype="application", subtype="pdf",
                               filename="photo du problème.pdf")
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def fill_mailbox(port: int, count: int, seed: int) -> None:
    from imapclient import IMAPClient

    rng = random.Random(seed)
    client = IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login(USER, DOVECOT_PASSWORD)
    for start in range(0, count, 500):
        client.multiappend("INBOX", [french_mail(rng, i)
                                     for i in range(start, min(count, start + 500))])
    client.logout()


def prepare_database(url: str | None, workdir: Path) -> tuple[str, str | None]:
    """The URL to use (a private schema on PostgreSQL) and that schema's name."""
    from ticketing.migrate import upgrade

    if not url:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade(url)
        return url, None
    schema = f"aiguillage_bench_mail_{os.getpid()}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    upgrade(url)
    return url, schema


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("run as root: Dovecot is started with its own config", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="aiguillage-bench-mail-"))
    workdir.chmod(0o755)
    server = None
    base_url, schema = args.database_url, None
    try:
        server = Dovecot(workdir)
        server.start()
        port = server.port
        started = time.perf_counter()
        fill_mailbox(port, args.count, args.seed)
        print(f"{args.count} mails appended in {time.perf_counter() - started:.1f} s")
        url, schema = prepare_database(base_url, workdir)
        tickets, seconds, rss_before, rss_after, report = run_pass(url, workdir, port, args.count,
                                                                   args.profile)
    finally:
        if server is not None:
            server.stop()
        if schema and base_url:
            engine = create_engine(base_url)
            with engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"database: {'PostgreSQL' if schema else 'SQLite'}")
    for mailbox in report.mailboxes:
        print(f"  {mailbox.summary()}")
    print(f"one pass: {args.count} mails in {seconds:.1f} s = {args.count / seconds:.0f} mails/s")
    print(f"tickets created: {tickets}")
    print(f"peak RSS: {rss_before / 1024:.0f} MiB before the pass, "
          f"{rss_after / 1024:.0f} MiB after it")
    return 0 if report.ok else 1


def run_pass(url: str, workdir: Path, port: int, count: int,  # type: ignore[no-untyped-def]
             profile: bool = False):
    from ticketing.config import load_all
    from ticketing.config.schema import Mailbox
    from ticketing.jobs import run_mail_poll
    from ticketing.models import Ticket
    from ticketing.settings import Settings
    from ticketing.web import create_app
    from ticketing.web.extensions import db

    os.environ[PASSWORD_ENV] = DOVECOT_PASSWORD
    settings = replace(Settings.from_environment(), database_url=url,
                       data_dir=workdir / "data", secret_key="bench-secret")
    configs = {slug: replace(c, mailboxes=[]) for slug, c in load_all(REPO / "config").items()}
    mailbox = Mailbox(name="mairie", host="127.0.0.1", port=port, tls="none", username=USER,
                      password_env=PASSWORD_ENV, addresses=[USER],
                      max_messages_per_run=count, max_seconds_per_run=3600,
                      ack_cap_per_hour=1000)
    configs[COMMUNE] = replace(configs[COMMUNE], mailboxes=[mailbox])
    app = create_app(settings, configs)
    if url.startswith("postgresql"):  # planner statistics, as autovacuum would keep them
        analyze(app)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before, machine_before = _cpu_seconds(), _machine_busy_seconds()
    statements = count_statements(app) if profile else None
    # CPU time, not wall time: waiting for the database server is not the poller's cost.
    profiler = cProfile.Profile(time.process_time) if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = run_mail_poll(app)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    machine = _machine_busy_seconds() - machine_before
    print(f"machine CPU: {machine:.1f} s = {count / machine:.0f} mails per CPU-second (every "
          "process: poller, Dovecot, the database server, and whatever else runs)")
    print(f"poller CPU: {cpu:.1f} s = {count / cpu:.0f} mails per CPU-second (this process "
          "only: the wall-clock rate depends on what else the machine runs)")
    if profiler is not None and statements is not None:
        print(f"SQL statements: {sum(statements.values())} = "
              f"{sum(statements.values()) / count:.1f} per mail")
        for verb, number in statements.most_common(12):
            print(f"  {number / count:6.2f}/mail  {verb}")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with app.app_context():
        tickets = db.session.scalar(select(func.count(Ticket.id)))
        db.session.remove()
        db.engine.dispose()
    return tickets, seconds, rss_before, rss_after, report


def _machine_busy_seconds() -> float:
    """CPU time spent by the whole machine (all cores, all processes), from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(value) for value in stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def count_statements(app) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Statements sent to the database, by their first words (INSERT INTO tickets…)."""
    from sqlalchemy import event

    from ticketing.web.extensions import db

    counts: Counter[str] = Counter()

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        counts[" ".join(statement.split()[:3])[:60]] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    return counts


def analyze(app) -> None:  # type: ignore[no-untyped-def]
    from ticketing.web.extensions import db

    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


if __name__ == "__main__":
    sys.exit(main())
