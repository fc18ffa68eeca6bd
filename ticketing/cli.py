"""The ``aiguillage`` command: check config, migrate, load the demo, serve."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ticketing.config import ConfigInvalid, load_all, load_commune
from ticketing.settings import Settings
from ticketing.web.errors import DatabaseNotReady


def _config_check(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    try:
        if (folder / "communes").is_dir():
            configs = load_all(folder)
        else:
            configs = {(c := load_commune(folder)).slug: c}
    except ConfigInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found.", file=sys.stderr)
        return 1
    for slug, config in configs.items():
        print(f"{slug}: OK ({len(config.services)} services, {len(config.categories)} categories,"
              f" {len(config.routing_rules)} routing rules, {len(config.templates)} templates)")
    return 0


def _db_upgrade(_args: argparse.Namespace) -> int:
    from ticketing.migrate import upgrade

    settings = Settings.from_environment()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    print("database up to date")
    return 0


def _app():  # type: ignore[no-untyped-def]
    from ticketing.web import create_app

    return create_app()


def _demo(_args: argparse.Namespace) -> int:
    from ticketing.demo import DEMO_PASSWORD, create_demo_accounts
    from ticketing.web.extensions import db

    app = _app()
    with app.app_context():
        accounts = create_demo_accounts(db.session, app.extensions["aiguillage"].commune_ids)
        db.session.commit()
    print(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for account in accounts:
        print(f"  {account.commune:28} {account.email:40} {account.title}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from waitress import serve

    from ticketing.jobs import start_scheduler

    app = _app()
    scheduler = None if args.no_scheduler else start_scheduler(app)
    base = f"http://{args.host}:{args.port}"
    print(f"Aiguillage is listening on {base}/")
    for slug in app.extensions["aiguillage"].configs:
        print(f"  citizens: {base}/{slug}/   agents: {base}/{slug}/agent/")
    try:
        serve(app, host=args.host, port=args.port, threads=8)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


def _outbox_drain(_args: argparse.Namespace) -> int:
    from ticketing.jobs import run_outbox

    report = run_outbox(_app())
    print(f"sent {report.sent}, to retry {report.retried}, given up {report.dead}")
    return 0


def _usage_error(message: str) -> int:
    print(f"aiguillage: {message}", file=sys.stderr)
    return 2


def _deadlines_due(args: argparse.Namespace) -> int:
    """The engine's due dates for one request, as an administrator checks deadlines.yaml."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from ticketing.config.schema import Channel
    from ticketing.domain.deadlines import compute_deadlines

    folder = Settings.from_environment().config_dir / "communes" / args.commune
    if not (folder / "commune.yaml").is_file():
        return _usage_error(f"unknown commune {args.commune!r} (no folder {folder})")
    config = load_commune(folder)
    if args.channel not in set(Channel):
        return _usage_error(f"unknown channel {args.channel!r}; use one of "
                            f"{', '.join(c.value for c in Channel)}")
    category = None
    if args.category is not None:
        category = config.categories.get(args.category)
        if category is None:
            return _usage_error(f"unknown category {args.category!r} in {args.commune}; known: "
                                f"{', '.join(config.categories)}")
    try:
        received = datetime.fromisoformat(args.received)
        sent = date.fromisoformat(args.sent) if args.sent else None
    except ValueError as exc:
        return _usage_error(f"not an ISO 8601 date or date-time: {exc}")
    if received.tzinfo is None:  # a wall-clock time at the town hall
        received = received.replace(tzinfo=ZoneInfo(config.commune.timezone))
    due = compute_deadlines(config.deadlines, config.calendar, config.commune.timezone,
                            args.channel, args.category, received, sent,
                            kind=category.kind if category else None)
    print(f"acknowledgement_due: {due.acknowledgement_due.isoformat()}")
    print(f"answer_due: {due.answer_due.isoformat()}")
    return 0


def _deadlines_recompute(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from ticketing.models import Ticket
    from ticketing.operations.deadlines import recompute_due_dates
    from ticketing.operations.events import Actor
    from ticketing.web.extensions import db

    app = _app()
    ctx = app.extensions["aiguillage"].context(args.commune)
    if ctx is None:
        return _usage_error(f"unknown commune {args.commune!r}")
    with app.app_context():
        tickets = None
        if args.ticket:
            tickets = db.session.scalars(select(Ticket).where(
                Ticket.commune_id == ctx.commune_id, Ticket.number == args.ticket)).all()
            if not tickets:
                return _usage_error(f"no ticket {args.ticket!r} in {args.commune}")
        changed = recompute_due_dates(db.session, ctx, Actor.system("administrateur (commande)"),
                                      tickets)
        db.session.commit()
        for ticket in changed:
            print(f"{ticket.number}: answer_due {ticket.answer_due_on.isoformat()}, "
                  f"acknowledgement_due {ticket.ack_due_on.isoformat()}")
        print(f"{len(changed)} ticket(s) changed")
    return 0


def _agent_invite(args: argparse.Namespace) -> int:
    """Create or find an agent, grant a role, queue the password link and print it."""
    from ticketing.operations.invitations import invite_from_command
    from ticketing.operations.staff import StaffChangeRefused
    from ticketing.web.extensions import db

    app = _app()
    ctx = app.extensions["aiguillage"].context(args.commune)
    if ctx is None:
        return _usage_error(f"unknown commune {args.commune!r}")
    if args.role is not None and args.role not in ctx.config.roles:
        return _usage_error(f"unknown role {args.role!r} in {args.commune}; known: "
                            f"{', '.join(ctx.config.roles)}")
    if args.service is not None and args.service not in ctx.config.services:
        return _usage_error(f"unknown service {args.service!r} in {args.commune}; known: "
                            f"{', '.join(ctx.config.services)}")
    with app.app_context():
        try:
            invitation = invite_from_command(db.session, ctx, args.email, full_name=args.name,
                                             role=args.role, service=args.service)
        except StaffChangeRefused as exc:
            db.session.rollback()
            return _usage_error(str(exc))
        db.session.commit()
        agent = invitation.agent
        print(f"agent {'created' if invitation.created else 'found'}: {agent.email} "
              f"({agent.full_name})")
        if invitation.granted:
            print("role granted: {1} in service {0}".format(*invitation.granted))
        elif args.role is not None:
            print(f"role already held: {args.role}")
        print("password link queued by mail (sent by the scheduler or `aiguillage outbox "
              "drain`), valid 3 days, single use:")
        print(f"  {invitation.link}")
    return 0


def _jobs_run_once(_args: argparse.Namespace) -> int:
    from ticketing.jobs import run_all_once

    for name, report in run_all_once(_app()).items():
        print(f"{name}: {report if report is not None else 'skipped (another instance runs it)'}")
    return 0


def _retention_run(args: argparse.Namespace) -> int:
    """Anonymise the requests past their retention delay (RGPD); print what was done."""
    from ticketing.jobs import run_retention

    app = _app()
    if args.commune and args.commune not in app.extensions["aiguillage"].configs:
        return _usage_error(f"unknown commune {args.commune!r}")
    reports = run_retention(app, args.commune, dry_run=args.dry_run)
    if reports is None:
        print("retention: skipped (another instance runs it)")
        return 1
    for report in reports:
        print(report.summary())
    return 0


def _mail_poll(args: argparse.Namespace) -> int:
    import time

    from ticketing.jobs import run_mail_poll

    app = _app()
    while True:
        report = run_mail_poll(app)
        for mailbox in report.mailboxes:
            print(mailbox.summary(), flush=True)
        if not report.mailboxes:
            print("no mailbox configured (config/communes/<slug>/mailboxes.yaml)")
        if args.once:
            return 0 if report.ok else 1
        time.sleep(app.extensions["aiguillage"].settings.mail_poll_seconds)


def _audit_verify(args: argparse.Namespace) -> int:
    """Recompute the audit hash chain; exit 1 naming the first broken event of a commune."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from ticketing.db import configure_sqlite
    from ticketing.operations.audit_chain import verify_all

    engine = create_engine(Settings.from_environment().database_url)
    configure_sqlite(engine)
    try:
        with Session(engine) as session:
            report = verify_all(session, args.commune)
    except LookupError:
        return _usage_error(f"unknown commune {args.commune!r}")
    finally:
        engine.dispose()
    for link in report.broken:
        print(f"BROKEN {link.describe()}")
    if not report.intact:
        return 1
    print(f"audit chain intact: {report.checked} event(s) checked")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiguillage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    config = commands.add_parser("config", help="commune configuration").add_subparsers(
        dest="action", required=True)
    check = config.add_parser("check", help="validate a commune folder or a config folder")
    check.add_argument("dir")
    check.set_defaults(func=_config_check)

    db = commands.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    commands.add_parser("demo", help="create the demo accounts").set_defaults(func=_demo)

    serve = commands.add_parser("serve", help="web server and scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--no-scheduler", action="store_true")
    serve.set_defaults(func=_serve)

    outbox = commands.add_parser("outbox", help="outgoing mail").add_subparsers(
        dest="action", required=True)
    outbox.add_parser("drain", help="send due mail once").set_defaults(func=_outbox_drain)

    mail = commands.add_parser("mail", help="incoming mail").add_subparsers(
        dest="action", required=True)
    poll = mail.add_parser("poll", help="turn the mail of every mailbox into tickets")
    poll.add_argument("--once", action="store_true",
                      help="one pass, then exit 0 if every message was processed or quarantined")
    poll.set_defaults(func=_mail_poll)

    deadlines = commands.add_parser("deadlines", help="deadline rules").add_subparsers(
        dest="action", required=True)
    due = deadlines.add_parser("due", help="print the due dates the rules give a request")
    due.add_argument("--commune", required=True)
    due.add_argument("--channel", required=True)
    due.add_argument("--category")
    due.add_argument("--received", required=True,
                     help="ISO date-time; without an offset, the commune's local time")
    due.add_argument("--sent", help="ISO date a letter was sent (postmark)")
    due.set_defaults(func=_deadlines_due)
    recompute = deadlines.add_parser(
        "recompute", help="recompute open tickets' due dates from the current rules (audited)")
    recompute.add_argument("--commune", required=True)
    recompute.add_argument("--ticket", help="one ticket number")
    recompute.set_defaults(func=_deadlines_recompute)

    agent = commands.add_parser("agent", help="agent accounts").add_subparsers(
        dest="action", required=True)
    invite = agent.add_parser(
        "invite", help="create the agent if needed, grant a role, mail and print the link "
                       "to choose a password (e.g. the first administrator)")
    invite.add_argument("commune", help="the commune's slug")
    invite.add_argument("email")
    invite.add_argument("--name", default="", help="full name (needed for a new agent)")
    invite.add_argument("--role", help="a role code of roles.yaml, e.g. administrateur")
    invite.add_argument("--service", help="the service the role applies to "
                                          "(default: the commune's triage service)")
    invite.set_defaults(func=_agent_invite)

    jobs = commands.add_parser("jobs", help="background jobs").add_subparsers(
        dest="action", required=True)
    jobs.add_parser("run-once", help="run every job once").set_defaults(func=_jobs_run_once)

    retention = commands.add_parser("retention", help="RGPD retention").add_subparsers(
        dest="action", required=True)
    retention_run = retention.add_parser(
        "run", help="anonymise the closed requests kept past their retention delay")
    retention_run.add_argument("--commune", help="one commune's slug (default: every commune)")
    retention_run.add_argument("--dry-run", action="store_true",
                               help="print the requests due, change nothing")
    retention_run.set_defaults(func=_retention_run)

    audit = commands.add_parser("audit", help="audit log").add_subparsers(
        dest="action", required=True)
    verify = audit.add_parser("verify", help="check the audit hash chain (exit 1 if broken)")
    verify.add_argument("--commune", help="one commune's slug (default: every commune)")
    verify.set_defaults(func=_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # one line per PDF step
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigInvalid as exc:
        print("Invalid configuration; Aiguillage will not start:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except DatabaseNotReady as exc:
        print(f"Aiguillage will not start: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
