"""A private Dovecot IMAP server on loopback, for the mail tests and the mail benchmark.

Debian's dovecot-imapd (2.3 syntax) runs as root with its own config in a folder of ours;
the static passdb accepts any user with one password, so each user is a fresh maildir.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from email.header import decode_header, make_header
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"

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
