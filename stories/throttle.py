"""Login throttling by client address, and by username at that address: nobody can lock anyone out.

Each failed login is kept for WINDOW (the address, a hash of the username typed, the time).
Too many failures for one username from one address, or for any usernames from one address,
refuse logins from that address for a while, in the same words and with the same work whether
or not the username exists. Someone at another address is never affected, so five wrong
passwords typed by a stranger lock no one out; strong passwords (stories/passwords.py) answer
guessing spread over many addresses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

import sqlite_utils

WINDOW = dt.timedelta(minutes=15)
PER_USERNAME = 5  # failures for one username from one address
PER_ADDRESS = 20  # failures for any usernames from one address: one guesser trying many accounts


def message(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed attempts to log in from here. Please try again in {minutes} {unit}."


def minutes_to_wait(db: sqlite_utils.Database, username: str, address: str, moment: dt.datetime) -> int | None:
    """How long this address must wait before trying this username again; None if it may try now."""
    limits = [
        ("address = ? AND username_key = ?", [address, _key(username)], PER_USERNAME),
        ("address = ?", [address], PER_ADDRESS),
    ]
    return minutes_until_free(db, "login_failures", limits, moment, WINDOW)


Limit = tuple[str, list[Any], int]  # a fixed SQL condition (never input), its parameters, the attempts it allows


def minutes_until_free(
    db: sqlite_utils.Database, table: str, limits: list[Limit], moment: dt.datetime, window: dt.timedelta
) -> int | None:
    """How long until every limit allows one more attempt, in whole minutes; None if all allow it now.

    `table` keeps one row per attempt with its time in `at`; a limit is reached when `limit` attempts
    matching its condition fall inside the window. Used by logins and by the storyteller's links."""
    since = (moment - window).isoformat()
    waits = []
    for condition, params, limit in limits:
        # The limit-th most recent attempt: once it leaves the window, one more attempt is allowed.
        row = db.execute(
            f"SELECT at FROM {table} WHERE {condition} AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?",
            [*params, since, limit - 1],
        ).fetchone()
        if row:
            free_at = dt.datetime.fromisoformat(row[0]) + window
            waits.append(max(1, math.ceil((free_at - moment).total_seconds() / 60)))
    return max(waits, default=None)


def record_failure(db: sqlite_utils.Database, username: str, address: str, moment: dt.datetime) -> None:
    db.execute("DELETE FROM login_failures WHERE at <= ?", [(moment - WINDOW).isoformat()])
    db.execute(
        "INSERT INTO login_failures (at, address, username_key) VALUES (?, ?, ?)", [moment.isoformat(), address, _key(username)]
    )


def forget(db: sqlite_utils.Database, username: str, address: str) -> None:
    """A successful login clears that username's failures from that address."""
    db.execute("DELETE FROM login_failures WHERE address = ? AND username_key = ?", [address, _key(username)])


def _key(username: str) -> str:
    # Hashed: people sometimes type their password into the username field.
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
