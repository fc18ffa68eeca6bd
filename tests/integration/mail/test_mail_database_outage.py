"""A real database outage mid-run: the poller (a subprocess) reaches PostgreSQL through a TCP
proxy that the test cuts while mail is being ingested, then restores. No message may leave
the inbox before its transaction committed, and once the database is back every message
ends as exactly one ticket."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mail_corpus import french_mail, write_config_dir
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from tests.tcp_proxy import TcpProxy
from ticketing.models import InboundMessage, Ticket
from ticketing.settings import REPO_ROOT

MAILS = 60


def _poller(url: str, config_dir: Path, settings, mailbox) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ,
           "AIGUILLAGE_DATABASE_URL": url,
           "AIGUILLAGE_CONFIG_DIR": str(config_dir),
           "AIGUILLAGE_DATA_DIR": str(settings.data_dir),
           "AIGUILLAGE_SECRET_KEY": settings.secret_key,
           mailbox.password_env: os.environ[mailbox.password_env]}
    return subprocess.Popen([sys.executable, "-m", "ticketing.cli", "mail", "poll", "--once"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _recorded(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count(InboundMessage.id))))


def _ticket_subjects(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return list(connection.scalars(select(Ticket.subject)))


def test_database_cut_mid_run_then_back_every_mail_once(
        app, settings, mailbox, dovecot, imap_user, tmp_path) -> None:
    direct = make_url(settings.database_url)
    if direct.get_backend_name() != "postgresql":
        pytest.skip("needs PostgreSQL (AIGUILLAGE_TEST_DATABASE_URL) to cut its connections")
    proxy = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432))
    proxy.start()
    through_proxy = direct.set(host="127.0.0.1", port=proxy.port) \
        .render_as_string(hide_password=False)
    config_dir = write_config_dir(tmp_path, mailbox)
    subjects = [f"Demande n°{i} — coupure" for i in range(MAILS)]
    dovecot.append(imap_user, *(french_mail(subject=s) for s in subjects))
    watch = create_engine(settings.database_url)
    try:
        process = _poller(through_proxy, config_dir, settings, mailbox)
        deadline = time.monotonic() + 60
        while process.poll() is None and _recorded(watch) < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        proxy.cut()  # PostgreSQL vanishes for the poller, mid-run
        output, _ = process.communicate(timeout=60)
        assert process.returncode != 0 and "database" in output, output

        # Nothing left the inbox without its committed ticket.
        committed = _ticket_subjects(watch)
        moved = dovecot.subjects(imap_user, "Traités")
        assert set(moved) <= set(committed), set(moved) - set(committed)
        assert 0 < len(committed) < MAILS, "the cut was not mid-run; tune the mail count"
        assert dovecot.count(imap_user, "INBOX") == MAILS - len(moved)

        # While it is down, a run fails cleanly and changes nothing.
        process = _poller(through_proxy, config_dir, settings, mailbox)
        output, _ = process.communicate(timeout=60)
        assert process.returncode != 0, output
        assert sorted(_ticket_subjects(watch)) == sorted(committed)

        proxy.restore()
        for _ in range(3):
            process = _poller(through_proxy, config_dir, settings, mailbox)
            output, _ = process.communicate(timeout=120)
            if process.returncode == 0 and dovecot.count(imap_user, "INBOX") == 0:
                break
        assert process.returncode == 0, output
        assert sorted(_ticket_subjects(watch)) == sorted(subjects)  # each exactly once
        assert _recorded(watch) == MAILS
        assert dovecot.count(imap_user, "INBOX") == 0
        assert sorted(dovecot.subjects(imap_user, "Traités")) == sorted(subjects)
    finally:
        proxy.cut()
        watch.dispose()
