"""Fixtures for the mail channel: a real Dovecot on loopback, mail builders, a mail-enabled app.

Dovecot (Debian's dovecot-imapd, 2.3 syntax) runs as root with its own config in a temp
folder; the static passdb accepts any user with one password, so each test takes a fresh
user, hence a fresh maildir.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from imapclient import IMAPClient

from ticketing.config.schema import Mailbox

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"
PASSWORD_ENV = "AIGUILLAGE_TEST_IMAP_PASSWORD"
DEMO = "champignac-en-cambrousse"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """A private Dovecot; ``stop()``/``start()`` simulate a server restart."""

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.config = root / "dovecot.conf"
        (root / "mail").mkdir()
        shutil.chown(root / "mail", "dovecot", "dovecot")
        self.config.write_text(CONFIG.format(root=root, port=self.port, password=PASSWORD))

    def start(self) -> None:
        # Dovecot daemonises; its children would hold a captured pipe open forever.
        with open(self.root / "start.log", "ab") as log:
            subprocess.run([DOVECOT, "-c", str(self.config)], check=True,
                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self._wait(listening=True)

    def stop(self) -> None:
        """Stop the server and drop its open sessions (a stopped 2.3 master leaves its imap
        processes serving the clients they have; they live in their user's home)."""
        subprocess.run([DOVECOT, "-c", str(self.config), "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(listening=False)
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and self.root in (proc / "cwd").resolve().parents:
                    os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                continue
        for _ in range(100):  # the master removes its pid file last
            if not (self.root / "run" / "master.pid").exists():
                return
            time.sleep(0.05)

    def _wait(self, listening: bool) -> None:
        for _ in range(200):
            with socket.socket() as probe:
                up = probe.connect_ex(("127.0.0.1", self.port)) == 0
            if up == listening:
                return
            time.sleep(0.025)
        raise RuntimeError(f"dovecot did not {'start' if listening else 'stop'}: "
                           f"{(self.root / 'dovecot.log').read_text()[-2000:]}")

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def append(self, user: str, *raws: bytes, folder: str = "INBOX") -> None:
        client = self.client(user)
        try:
            for raw in raws:
                client.append(folder, raw)
        finally:
            client.logout()

    def count(self, user: str, folder: str) -> int:
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                return 0
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])
        finally:
            client.logout()

    def subjects(self, user: str, folder: str) -> list[str]:
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            data = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
            return sorted(
                str(make_header(decode_header(" ".join(
                    v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().partition(":")[2].split()))))
                for v in data.values())
        finally:
            client.logout()


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
