"""IMAP IDLE against a real Dovecot: a mail is ingested as soon as it arrives."""

from __future__ import annotations

import os
import time

from mail_corpus import french_mail
from sqlalchemy import func, select

from mail_ingest.idle import IdleWatcher
from ticketing.jobs import start_mail_watchers
from ticketing.models import Ticket
from ticketing.web.extensions import db


def _wait(condition, seconds: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _tickets(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        count = int(db.session.scalar(select(func.count(Ticket.id))))
        db.session.remove()
        return count


def test_a_mail_arriving_during_idle_becomes_a_ticket_at_once(
        mail_app, dovecot, imap_user) -> None:
    [watcher] = start_mail_watchers(mail_app)
    try:
        assert watcher.idling.wait(20), "the watcher never entered IDLE"
        dovecot.append(imap_user, french_mail(subject="Fuite d'eau place du Marché"))
        assert _wait(lambda: _tickets(mail_app) == 1)
        assert _wait(lambda: dovecot.count(imap_user, "INBOX") == 0)
        assert dovecot.subjects(imap_user, "Traités") == ["Fuite d'eau place du Marché"]
    finally:
        watcher.stop()
        watcher.join(15)
    assert not watcher.is_alive()


def test_a_busy_mailbox_is_tried_again(mailbox, dovecot, imap_user) -> None:
    """When another poller holds the mailbox, the watcher tries again shortly."""
    answers = [False, True]  # busy once (a scheduled pass holds the lock), then done
    calls: list[float] = []

    def wake() -> bool:
        calls.append(time.monotonic())
        return answers.pop(0) if answers else True

    watcher = IdleWatcher(mailbox, os.environ[mailbox.password_env], wake)
    watcher.start()
    try:
        assert _wait(lambda: len(calls) >= 2)  # the pass at start, busy, then again
        assert watcher.idling.wait(20)
        dovecot.append(imap_user, french_mail())
        assert _wait(lambda: len(calls) >= 3)  # new mail: woken
    finally:
        watcher.stop()
        watcher.join(15)
    assert not watcher.is_alive()
