"""Fetch: one IMAP connection to a mailbox (imapclient), read in batches, move after commit.

TLS follows the mailbox's YAML and nothing else: verified TLS by default, STARTTLS when
asked, clear text only when the YAML says ``tls: none``. There is no fallback.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ticketing.config.schema import Mailbox

FETCH_BATCH = 50  # messages fetched per round trip: memory stays flat whatever the mailbox size

# What a broken connection or a refusing server raises; the pass ends for that mailbox.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    IMAPClientError, imaplib.IMAP4.error, OSError, socket.timeout, ssl.SSLError,
)


class ImapUnavailable(Exception):
    """The server cannot be reached or refused us; the next run tries again."""


@dataclass(frozen=True)
class MessageSize:
    uid: int
    size: int


def tls_context(mailbox: Mailbox) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not mailbox.verify_certificate:  # an explicit YAML choice, for self-signed test servers
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class MailboxConnection:
    """A logged-in connection with the mailbox's folder selected."""

    def __init__(self, mailbox: Mailbox, password: str):
        self.mailbox = mailbox
        self._password = password
        self._client: IMAPClient | None = None
        self.uidvalidity = 0

    # -- connection -------------------------------------------------------------------------

    def open(self) -> int:
        """Connect, log in, create the target folders if needed, select; return UIDVALIDITY."""
        mailbox = self.mailbox
        try:
            if mailbox.tls == "tls":
                client = IMAPClient(mailbox.host, port=mailbox.port, ssl=True,
                                    ssl_context=tls_context(mailbox),
                                    timeout=mailbox.timeout_seconds)
            else:
                client = IMAPClient(mailbox.host, port=mailbox.port, ssl=False,
                                    timeout=mailbox.timeout_seconds)
                if mailbox.tls == "starttls":
                    client.starttls(tls_context(mailbox))
            self._client = client
            client.login(mailbox.username, self._password)
            for folder in (mailbox.processed_folder, mailbox.quarantine_folder):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
            selected = client.select_folder(mailbox.folder)
        except CONNECTION_ERRORS as exc:
            self.close()
            raise ImapUnavailable(f"{mailbox.host}:{mailbox.port}: {exc}") from exc
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        return self.uidvalidity

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except CONNECTION_ERRORS:
            try:
                client.shutdown()
            except CONNECTION_ERRORS:
                pass

    def __enter__(self) -> MailboxConnection:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise ImapUnavailable("not connected")
        return self._client

    # -- reading ----------------------------------------------------------------------------

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid``, ascending (``n:*`` also answers the last one: filtered)."""
        found = self._call(self.client.search, [b"UID", f"{last_uid + 1}:*".encode()])
        return sorted(uid for uid in found if uid > last_uid)

    def sizes(self, uids: Sequence[int]) -> list[MessageSize]:
        """Declared sizes, so an oversized message is never downloaded."""
        data = self._call(self.client.fetch, list(uids), [b"RFC822.SIZE"])
        return [MessageSize(uid, int(data[uid][b"RFC822.SIZE"])) for uid in uids if uid in data]

    def fetch_raw(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """``(uid, raw bytes)`` in batches of FETCH_BATCH; BODY.PEEK leaves \\Seen alone."""
        for start in range(0, len(uids), FETCH_BATCH):
            batch = list(uids[start:start + FETCH_BATCH])
            data = self._call(self.client.fetch, batch, [b"BODY.PEEK[]"])
            for uid in batch:
                if uid in data:  # gone meanwhile (another client moved it): skip
                    yield uid, bytes(data[uid][b"BODY[]"])
            del data

    def fetch_header(self, uid: int) -> bytes | None:
        data = self._call(self.client.fetch, [uid], [b"BODY.PEEK[HEADER]"])
        return bytes(data[uid][b"BODY[HEADER]"]) if uid in data else None

    # -- moving -----------------------------------------------------------------------------

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move ``uids`` in one command: MOVE when offered, else COPY + \\Deleted + UID
        EXPUNGE of those messages. One round trip (and one server-side sync) per batch."""
        if not uids:
            return
        client, uids = self.client, list(uids)
        if client.has_capability("MOVE"):
            self._call(client.move, uids, folder)
            return
        self._call(client.copy, uids, folder)
        self._call(client.add_flags, uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            self._call(client.uid_expunge, uids)
        else:  # without UIDPLUS only a plain EXPUNGE exists; it removes ours and any \Deleted
            self._call(client.expunge)

    def _call(self, method, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(*args, **kwargs)
        except CONNECTION_ERRORS as exc:
            raise ImapUnavailable(f"{self.mailbox.host}:{self.mailbox.port}: {exc}") from exc
