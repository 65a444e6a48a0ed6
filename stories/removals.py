"""Stories taken out of publication (withdrawn or erased), numbered in the order they were committed.

A rebuild reads the store at one moment and swaps its new files in seconds or minutes later.
It notes the last number when it reads, and before each swap takes out every story removed
since, so no rebuild brings a withdrawn story back. Ids and times only, never content.

A process taking a story out holds UNDERWAY_LOCK (shared) from before it commits the removal until
the published files no longer hold the story. The kernel lets go of it when the process dies, however
it dies, so a removal committed while nobody holds it was cut short, and `storybank serve` finishes it.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from stories.clock import now_iso
from stories.consent import current_consent
from stories.instance import Instance

UNDERWAY_LOCK = "removing.lock"


@contextmanager
def removal_underway(instance: Instance) -> Iterator[None]:
    """Hold this around committing a removal and taking the story out of the published files."""
    with open(instance.root / UNDERWAY_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # shared: withdrawals run side by side (app threads, a CLI)
        yield


def removal_at_work(instance: Instance) -> bool:
    """Is a live process between committing a removal and taking the story out of the files?"""
    with open(instance.root / UNDERWAY_LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def record_removal(db: sqlite_utils.Database, story_id: int) -> None:
    """Call inside the transaction that withdraws or erases the story: the two commit together."""
    db.execute("INSERT INTO publication_removals (story_id, removed_at) VALUES (?, ?)", [story_id, now_iso()])


def last_removal(db: sqlite_utils.Database) -> int:
    """The newest removal's number (0 if none): read it in the same snapshot as the stories."""
    return db.execute("SELECT coalesce(max(seq), 0) FROM publication_removals").fetchone()[0]


def removed_since(db: sqlite_utils.Database, mark: int) -> set[int]:
    """Stories withdrawn or erased after `mark` was read."""
    return {row[0] for row in db.execute("SELECT story_id FROM publication_removals WHERE seq > ?", [mark])}


def still_removed(db: sqlite_utils.Database, since: int = 0) -> set[int]:
    """Every story removed after removal number `since` (0: ever) that is still withdrawn or erased now.

    A withdrawn story may since have been given fresh consent and signed off again: that one may
    be published, so it is left out.
    """
    removed = set()
    for (story_id,) in db.execute("SELECT DISTINCT story_id FROM publication_removals WHERE seq > ?", [since]).fetchall():
        consent = current_consent(db.query("SELECT * FROM consent_events WHERE story_id = ?", [story_id]))
        if consent is None or consent.withdrawn:
            removed.add(story_id)
    return removed
