"""What a storyteller changed on their own page, waiting for the worker who recorded the story to see it."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from stories.clock import now_iso

CONFIRMED, NARROWED, WITHDREW, ASKED_ERASURE = "confirmed", "narrowed", "withdrew", "asked_erasure"
ACTIONS = {
    CONFIRMED: "confirmed their story reads right",
    NARROWED: "narrowed their consent",
    WITHDREW: "withdrew their consent",
    ASKED_ERASURE: "asked for their story to be erased: it is withdrawn; please erase it and tell them",
}


def notify(db: sqlite_utils.Database, story_id: int, action: str) -> None:
    """Tell the worker, once: the same action on the same story, not yet seen, is not told twice."""
    db.execute(
        "INSERT INTO storyteller_notices (story_id, action, at) SELECT ?, ?, ? WHERE NOT EXISTS"
        " (SELECT 1 FROM storyteller_notices WHERE story_id = ? AND action = ? AND seen_at IS NULL)",
        [story_id, action, now_iso(), story_id, action],
    )


def unseen(db: sqlite_utils.Database, organisation_id: int) -> list[dict[str, Any]]:
    """Notices for this organisation's stories that no one has marked seen, oldest first."""
    rows = db.query(
        "SELECT storyteller_notices.*, stories.title AS story_title FROM storyteller_notices"
        " JOIN stories ON stories.id = storyteller_notices.story_id"
        " WHERE stories.organisation_id = ? AND seen_at IS NULL ORDER BY storyteller_notices.id",
        [organisation_id],
    )
    return [dict(row, says=ACTIONS.get(row["action"], row["action"])) for row in rows]


def mark_seen(db: sqlite_utils.Database, notice_id: int, organisation_id: int) -> None:
    db.execute(
        "UPDATE storyteller_notices SET seen_at = ? WHERE id = ? AND seen_at IS NULL"
        " AND story_id IN (SELECT id FROM stories WHERE organisation_id = ?)",
        [now_iso(), notice_id, organisation_id],
    )
