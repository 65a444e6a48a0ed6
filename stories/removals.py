"""Stories taken out of publication (withdrawn or erased), numbered in the order they were committed.

A rebuild reads the store at one moment and swaps its new files in seconds or minutes later.
It notes the last number when it reads, and before each swap takes out every story removed
since, so no rebuild brings a withdrawn story back. Ids and times only, never content.
"""

from __future__ import annotations

import sqlite_utils

from stories.clock import now_iso
from stories.consent import current_consent


def record_removal(db: sqlite_utils.Database, story_id: int) -> None:
    """Call inside the transaction that withdraws or erases the story: the two commit together."""
    db.execute("INSERT INTO publication_removals (story_id, removed_at) VALUES (?, ?)", [story_id, now_iso()])


def last_removal(db: sqlite_utils.Database) -> int:
    """The newest removal's number (0 if none): read it in the same snapshot as the stories."""
    return db.execute("SELECT coalesce(max(seq), 0) FROM publication_removals").fetchone()[0]


def removed_since(db: sqlite_utils.Database, mark: int) -> set[int]:
    """Stories withdrawn or erased after `mark` was read."""
    return {row[0] for row in db.execute("SELECT story_id FROM publication_removals WHERE seq > ?", [mark])}


def still_removed(db: sqlite_utils.Database) -> set[int]:
    """Every story ever removed that is still withdrawn or erased now.

    A withdrawn story may since have been given fresh consent and signed off again: that one may
    be published, so it is left out.
    """
    removed = set()
    for (story_id,) in db.execute("SELECT DISTINCT story_id FROM publication_removals").fetchall():
        consent = current_consent(db.query("SELECT * FROM consent_events WHERE story_id = ?", [story_id]))
        if consent is None or consent.withdrawn:
            removed.add(story_id)
    return removed
