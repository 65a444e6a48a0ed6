"""The append-only audit log: every sensitive action, with actor, UTC time and story id.

Details never hold story text, names or consent evidence — only ids, counts and reasons
a person typed for the record (a withdrawal reason is written to be kept).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from stories.clock import now_iso


def record(db: sqlite_utils.Database, actor: str, action: str, story_id: int | None = None, **detail: Any) -> None:
    db.execute(
        "INSERT INTO audit_log (at, actor, action, story_id, detail) VALUES (?, ?, ?, ?, ?)",
        [now_iso(), actor, action, story_id, json.dumps(detail, sort_keys=True, default=str)],
    )


def entries(db: sqlite_utils.Database, story_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    if story_id is None:
        rows = db.query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit])
    else:
        rows = db.query("SELECT * FROM audit_log WHERE story_id = ? ORDER BY id DESC LIMIT ?", [story_id, limit])
    return [dict(row, detail=json.loads(row["detail"])) for row in rows]


def last_id(db: sqlite_utils.Database) -> int:
    """Where the log ends now: note it before a change, then ask which stories were touched since."""
    return db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]


def stories_since(db: sqlite_utils.Database, mark: int) -> set[int]:
    """Stories with an entry after `mark` (every change to a story writes one, the m007 triggers included)."""
    rows = db.execute("SELECT DISTINCT story_id FROM audit_log WHERE id > ? AND story_id IS NOT NULL", [mark])
    return {row[0] for row in rows}
