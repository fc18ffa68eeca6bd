"""Test mails written like French citizens' mail, and a config folder for subprocess pollers."""

from __future__ import annotations

import shutil
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from ticketing.config.schema import Mailbox
from ticketing.settings import REPO_ROOT

DEMO = "champignac-en-cambrousse"


def french_mail(
    subject: str = "Nid-de-poule rue des Écoles",
    body: str = "Bonjour,\n\nUn nid-de-poule s'est formé devant l'école. Pouvez-vous "
                "intervenir ?\n\nCordialement,\nCamille Martin",
    sender: str = "Camille Martin <camille.martin@example.org>",
    to: str = "mairie@champignac.example",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    charset: str = "utf-8",
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    """A citizen's mail as it arrives (CRLF line ends)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = message_id or make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body, charset=charset)
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def write_config_dir(target: Path, mailbox: Mailbox) -> Path:
    """A copy of the demo config whose champignac mailboxes.yaml points at the test server
    (for the poller run as a subprocess)."""
    config_dir = target / "config"
    shutil.copytree(REPO_ROOT / "config", config_dir)
    (config_dir / "communes" / DEMO / "mailboxes.yaml").write_text(
        "mailboxes:\n"
        f"  - name: {mailbox.name}\n"
        f"    host: {mailbox.host}\n"
        f"    port: {mailbox.port}\n"
        "    tls: none\n"
        f"    username: {mailbox.username}\n"
        f"    password_env: {mailbox.password_env}\n"
        f"    addresses: [{', '.join(str(a) for a in mailbox.addresses)}]\n"
        "    timeout_seconds: 10\n", encoding="utf-8")
    return config_dir
