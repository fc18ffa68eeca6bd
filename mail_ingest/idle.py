"""IMAP IDLE (RFC 2177): mail is ingested as soon as it arrives, not at the next poll.

One watcher thread per mailbox keeps its own connection in IDLE on the inbox folder and,
when the server announces new mail (EXISTS), leaves IDLE and calls ``wake`` (``aiguillage
serve`` runs a poll pass there). The mailbox lock still makes one poller at a time: when
``wake`` reports the mailbox busy, the watcher tries again shortly, so mail arriving during a
scheduled pass is not left for the next one. The schedule stays as the safety net; a server
without IDLE, or a broken connection, only means waiting for it (the watcher reconnects).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mail_ingest.imap import CONNECTION_ERRORS, ImapUnavailable, MailboxConnection
from ticketing.config.schema import Mailbox

log = logging.getLogger(__name__)

CHECK_SECONDS = 5  # how long one idle_check waits: also how fast stop() is honoured
REFRESH_SECONDS = 20 * 60  # RFC 2177: re-issue IDLE well before the server's 29 minutes
RETRY_SECONDS = 30  # after a broken connection
BUSY_RETRIES = 10  # wake() said "busy": tries again every BUSY_WAIT_SECONDS, so many times
BUSY_WAIT_SECONDS = 3

Wake = Callable[[], bool]  # runs a pass; False when another poller held the mailbox


class IdleWatcher(threading.Thread):
    def __init__(self, mailbox: Mailbox, password: str, wake: Wake,
                 retry_seconds: float = RETRY_SECONDS):
        super().__init__(name=f"imap-idle-{mailbox.name}", daemon=True)
        self.mailbox, self._password, self._wake = mailbox, password, wake
        self.retry_seconds = retry_seconds
        self._stopping = threading.Event()
        self.idling = threading.Event()  # set while in IDLE (for tests and logs)

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self._watch():
                    return  # the server offers no IDLE: the schedule does the work
            except (ImapUnavailable, *CONNECTION_ERRORS) as exc:
                log.warning("IMAP IDLE on %s: %s; again in %ss", self.mailbox.name, exc,
                            self.retry_seconds)
            except Exception:  # noqa: BLE001 - a bug here must not kill the watcher for good
                log.exception("IMAP IDLE on %s failed", self.mailbox.name)
            self.idling.clear()
            self._stopping.wait(self.retry_seconds)

    def _watch(self) -> bool:
        with MailboxConnection(self.mailbox, self._password) as connection:
            client = connection.client
            if not client.has_capability("IDLE"):
                log.info("%s offers no IMAP IDLE: scheduled polls only", self.mailbox.host)
                return False
            self._run_pass()  # whatever arrived before IDLE began
            while not self._stopping.is_set():
                client.idle()
                self.idling.set()
                arrived = self._wait_for_mail(client)
                client.idle_done()
                self.idling.clear()
                if arrived:
                    self._run_pass()
        return True

    def _wait_for_mail(self, client) -> bool:  # type: ignore[no-untyped-def]
        """True when the server said EXISTS; False at the refresh time or when stopping."""
        started = time.monotonic()
        while not self._stopping.is_set() and time.monotonic() - started < REFRESH_SECONDS:
            responses = client.idle_check(timeout=CHECK_SECONDS)
            if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                return True
        return False

    def _run_pass(self) -> None:
        for _ in range(BUSY_RETRIES):
            if self._stopping.is_set() or self._wake():
                return
            self._stopping.wait(BUSY_WAIT_SECONDS)
