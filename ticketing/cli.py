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
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
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
