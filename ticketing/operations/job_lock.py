"""One runner per job at a time: a PostgreSQL advisory lock across app instances, a process
lock on SQLite (a SQLite deployment runs its jobs in a single process)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (what pg_try_advisory_lock takes)."""
    return int.from_bytes(hashlib.sha256(f"aiguillage:{name}".encode()).digest()[:8], "big",
                          signed=True)


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True when this process holds the lock of job ``name``, False when another does.

    The caller skips its work on False; it never waits, so a slow run is not queued up.
    """
    if engine.dialect.name == "postgresql":
        # A session-level lock on its own connection: held until unlocked or the
        # connection dies (a crashed instance frees it), whatever the job's transactions do.
        with engine.connect() as connection:
            # Per schema: parallel test runs (one schema each) share a database.
            key = lock_key(f"{connection.scalar(text('SELECT current_schema()'))}:{name}")
            acquired = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            connection.commit()
            try:
                yield acquired
            finally:
                if acquired:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
        return
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    acquired = lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
