"""The working store's connections: the one place that sets the pragmas every connection needs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from stories.sqlite import sqlite3

BUSY_TIMEOUT_MS = 15_000


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open the working store with WAL, foreign keys, a busy timeout and secure delete."""
    # isolation_level=None: no implicit transactions; every write block says how it locks.
    conn = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a story acknowledged to the worker survives a crash straight after.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    # Erased stories must not linger in free pages.
    conn.execute("PRAGMA secure_delete = ON")
    return sqlite_utils.Database(conn)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a read-then-write block under BEGIN IMMEDIATE (joins an open transaction).

    Taking the write lock before the first read means a concurrent writer makes us wait
    (busy timeout) instead of failing with "database is locked" when we upgrade.
    """
    if db.conn.in_transaction:
        yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def checkpoint(db: sqlite_utils.Database, *, wait: float = 10.0) -> bool:
    """Fold the WAL back into the main file and truncate it; False if readers kept it busy throughout.

    Used after an erasure: until the WAL is checkpointed, the erased text is still in it. A reader
    in the middle of a request holds old frames, so try again for a while rather than give up.
    """
    deadline = time.monotonic() + wait
    while True:
        busy = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@contextmanager
def read_snapshot(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run several reads against one state of the store (a deferred transaction: it blocks no writer)."""
    if db.conn.in_transaction:
        yield db
        return
    db.conn.execute("BEGIN")
    try:
        yield db
    finally:
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")
