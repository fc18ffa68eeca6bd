"""Fixtures for the mail channel: a real Dovecot on loopback, mail builders, a mail-enabled app.

Dovecot (Debian's dovecot-imapd, 2.3 syntax) runs as root with its own config in a temp
folder; the static passdb accepts any user with one password, so each test takes a fresh
user, hence a fresh maildir.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.dovecot import DOVECOT, PASSWORD, Dovecot
from ticketing.config.schema import Mailbox

PASSWORD_ENV = "AIGUILLAGE_TEST_IMAP_PASSWORD"
DEMO = "champignac-en-cambrousse"

@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    # In CI a missing Dovecot is a broken .ci/run, not a reason to skip the mail tests.
    give_up = pytest.fail if os.environ.get("CI") else pytest.skip
    if not os.path.exists(DOVECOT):
        give_up("Dovecot is not installed (apt-get install -y dovecot-imapd)")
    if os.geteuid() != 0:
        give_up("the Dovecot fixture runs Dovecot as root with its own config")
    # Not pytest's tmp_path: its parents are private to root, Dovecot's mail user must get in.
    root = Path(tempfile.mkdtemp(prefix="aiguillage-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    """A fresh IMAP user: an empty maildir of its own."""
    return f"mairie-{secrets.token_hex(4)}@champignac.example"


@pytest.fixture
def mailbox(dovecot: Dovecot, imap_user: str, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return Mailbox(name="mairie", host="127.0.0.1", port=dovecot.port, tls="none",
                   username=imap_user, password_env=PASSWORD_ENV,
                   addresses=["mairie@champignac.example"], timeout_seconds=10)


@pytest.fixture
def make_mail_app(app, settings, configs):  # type: ignore[no-untyped-def]
    """``make_mail_app(mailbox, …)``: an app whose demo commune polls these mailboxes (the
    ``app`` fixture empties the tables afterwards)."""
    from ticketing.web import create_app
    from ticketing.web.extensions import db

    made = []

    def _make(*mailboxes: Mailbox):  # type: ignore[no-untyped-def]
        mail_configs = dict(configs)
        mail_configs[DEMO] = replace(configs[DEMO], mailboxes=list(mailboxes))
        for slug in mail_configs:
            if slug != DEMO:
                mail_configs[slug] = replace(mail_configs[slug], mailboxes=[])
        made.append(create_app(settings, mail_configs, overrides={"TESTING": True}))
        return made[-1]

    yield _make
    for mail_app in made:
        with mail_app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def mail_app(make_mail_app, mailbox):  # type: ignore[no-untyped-def]
    return make_mail_app(mailbox)
