"""One poller per mailbox: a PostgreSQL advisory lock, or a lease row on SQLite.

The advisory lock lives on a dedicated connection, so it dies with the process. The SQLite
lease expires on its own, is renewed while the pass runs, and is taken over at once when
its holder is a dead process of this machine (SQLite is always local).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ticketing.models import MailLease, utcnow

LEASE_SECONDS = 60
RENEW_EVERY_SECONDS = 10


def lock_number(key: str) -> int:
    """A signed 64-bit number for pg_try_advisory_lock, stable across processes."""
    return int.from_bytes(hashlib.sha256(f"aiguillage-mail:{key}".encode()).digest()[:8],
                          "big", signed=True)


class Lease:
    """What the holder of a mailbox lock may do: keep it alive during a long pass."""

    def __init__(self, session: Session | None = None, key: str = "", holder: str = ""):
        self._session, self._key, self._holder = session, key, holder
        self._renewed = time.monotonic()

    def renew(self) -> None:
        """Push the lease's expiry forward (SQLite only; at most every few seconds).
        Call it between transactions: it commits."""
        if self._session is None or time.monotonic() - self._renewed < RENEW_EVERY_SECONDS:
            return
        self._session.execute(update(MailLease).where(
            MailLease.mailbox_key == self._key, MailLease.holder == self._holder,
        ).values(expires_at=utcnow() + timedelta(seconds=LEASE_SECONDS)))
        self._session.commit()
        self._renewed = time.monotonic()


@contextmanager
def mailbox_lock(session: Session, key: str) -> Iterator[Lease | None]:
    """Yield a Lease when this process now holds ``key``'s lock, None when another does."""
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, key) as held:
            yield Lease() if held else None
        return
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    if not _take_lease(session, key, holder):
        yield None
        return
    try:
        yield Lease(session, key, holder)
    finally:
        try:
            session.rollback()
            session.execute(update(MailLease).where(
                MailLease.mailbox_key == key, MailLease.holder == holder,
            ).values(holder="", expires_at=utcnow()))
            session.commit()
        except DBAPIError:  # the database is gone: the lease expires by itself
            session.rollback()


@contextmanager
def _advisory_lock(engine, key: str) -> Iterator[bool]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        # Advisory locks are per database: the schema in the key keeps deployments (or
        # parallel test runs) that share a database but not a schema from blocking each other.
        number = lock_number(f"{connection.scalar(select(func.current_schema()))}:{key}")
        held = bool(connection.execute(select(func.pg_try_advisory_lock(number))).scalar())
        connection.commit()  # session-level lock: it outlives the transaction, not the socket
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:n)"), {"n": number})
                connection.commit()


def _take_lease(session: Session, key: str, holder: str) -> bool:
    now = utcnow()
    session.execute(sqlite.insert(MailLease).values(
        mailbox_key=key, holder="", expires_at=now - timedelta(seconds=1),
    ).on_conflict_do_nothing())
    taken = session.execute(update(MailLease).where(
        MailLease.mailbox_key == key, MailLease.expires_at < now,
    ).values(holder=holder, expires_at=now + timedelta(seconds=LEASE_SECONDS))).rowcount
    if not taken:
        current = session.scalar(select(MailLease.holder).where(MailLease.mailbox_key == key))
        if current and _dead_local_process(current):
            taken = session.execute(update(MailLease).where(
                MailLease.mailbox_key == key, MailLease.holder == current,
            ).values(holder=holder, expires_at=now + timedelta(seconds=LEASE_SECONDS))).rowcount
    session.commit()
    return bool(taken)


def _dead_local_process(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
