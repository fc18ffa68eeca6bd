"""Exactly once under crashes: the poller is SIGKILLed at random points and restarted, and two
pollers run at once on one mailbox."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from mail_corpus import french_mail, write_config_dir
from sqlalchemy import create_engine, func, select

from mail_ingest.mailbox_pass import GROUP
from ticketing.models import InboundMessage, Ticket
from ticketing.settings import REPO_ROOT
from ticketing.web.extensions import db

BATCH = 2 * GROUP + 20  # a pass commits several groups: kills fall between commits


def _poller(config_dir: Path, settings, mailbox) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ,
           "AIGUILLAGE_DATABASE_URL": settings.database_url,
           "AIGUILLAGE_CONFIG_DIR": str(config_dir),
           "AIGUILLAGE_DATA_DIR": str(settings.data_dir),
           "AIGUILLAGE_SECRET_KEY": settings.secret_key,
           mailbox.password_env: os.environ[mailbox.password_env]}
    return subprocess.Popen([sys.executable, "-m", "ticketing.cli", "mail", "poll", "--once"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _watch(settings):  # type: ignore[no-untyped-def]
    """A plain engine to watch the count while the poller runs: the app's SQLite engine opens
    every transaction with BEGIN IMMEDIATE, so its reads would queue behind the poller's
    transactions and only see the count jump by many groups at once."""
    return create_engine(settings.database_url)


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count(InboundMessage.id))))


def _subjects_with_tickets(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(Ticket.subject)))


def test_killed_at_random_points_every_mail_ends_as_exactly_one_ticket(
        app, settings, mailbox, dovecot, imap_user, tmp_path) -> None:
    config_dir = write_config_dir(tmp_path, mailbox)
    subjects = [f"Demande n°{i} — réparation" for i in range(BATCH)]
    dovecot.append(imap_user, *(french_mail(subject=s) for s in subjects))
    rng = random.Random(20261127)
    kills = 0
    done_at_kill: list[int] = []
    watch = _watch(settings)
    for _ in range(4):  # killed once it has recorded a few more mails, at a random instant
        before, process = _count(watch), _poller(config_dir, settings, mailbox)
        target = before + rng.randint(1, 5)
        deadline = time.monotonic() + 30
        while process.poll() is None and _count(watch) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        process.stdout.close()
        done_at_kill.append(_count(watch))
    watch.dispose()
    for _ in range(5):
        process = _poller(config_dir, settings, mailbox)
        output, _ = process.communicate(timeout=60)
        if process.returncode == 0 and dovecot.count(imap_user, "INBOX") == 0:
            break
    assert process.returncode == 0, output
    assert kills >= 1, "the poller was never killed; tune the delays"
    assert any(0 < done < BATCH for done in done_at_kill), done_at_kill  # mid-batch kills

    titles = _subjects_with_tickets(app)
    assert sorted(titles) == sorted(subjects)  # one ticket per mail, none twice
    with app.app_context():
        assert db.session.scalar(select(func.count(InboundMessage.id))) == BATCH
    assert dovecot.count(imap_user, "INBOX") == 0
    assert dovecot.count(imap_user, "Traités") == BATCH


def test_two_pollers_at_once_never_process_a_mail_twice(
        app, settings, mailbox, dovecot, imap_user, tmp_path) -> None:
    config_dir = write_config_dir(tmp_path, mailbox)
    subjects = [f"Signalement {i}" for i in range(20)]
    dovecot.append(imap_user, *(french_mail(subject=s) for s in subjects))
    first, second = (_poller(config_dir, settings, mailbox) for _ in range(2))
    outputs = [p.communicate(timeout=60)[0] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    assert any("another poller holds it" in o for o in outputs) or \
        dovecot.count(imap_user, "INBOX") == 0
    if dovecot.count(imap_user, "INBOX"):
        final = _poller(config_dir, settings, mailbox)
        final.communicate(timeout=60)
    assert sorted(_subjects_with_tickets(app)) == sorted(subjects)
    assert dovecot.count(imap_user, "Traités") == 20
