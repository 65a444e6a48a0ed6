"""The journal beside the store: every change a restored backup must not undo, with no content.

A withdrawal, an erasure, consent narrowed (fewer audiences, a more hidden identity, special
category withdrawn, an earlier review date) and a name decision are each appended here, to the
file next to the working store, and marked in the store in the same transaction. A restored
backup holds exactly the marks of the changes it saw, so `storybank restore` re-applies the
entries whose mark it lacks. Lines hold ids, uids, dates, actors and consent terms (metadata),
never a story's words, and never a name: a name decision is journalled only as having happened.

The line is written before the transaction commits: a crash in between leaves an entry for a
change that never happened, which a restore re-applies only in the direction of showing less.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import sqlite_utils

from stories.clock import now_iso

JOURNAL_NAME = "withdrawals.jsonl"  # the name it had when it held only withdrawals; kept so old journals are read
NARROWED, NAME_DECISION = "narrowed", "name_decision"


def new_entry() -> str:
    return secrets.token_hex(8)


def append(db: sqlite_utils.Database, story_id: int, kind: str, actor: str, *, entry: str, **facts: Any) -> None:
    """Journal one change (call inside its write transaction) and mark it as held by this store."""
    uid = db.execute("SELECT uid FROM stories WHERE id = ?", [story_id]).fetchone()
    at = now_iso()
    mark(db, entry, story_id, kind, at)
    path = journal_path(db)
    if path is None:
        return  # an in-memory store has no backups to restore
    line = {"story_id": story_id, "story_uid": uid[0] if uid else None, "entry": entry, "kind": kind, "at": at, "actor": actor}
    with open(path, "a") as f:
        f.write(json.dumps({**line, **facts}) + "\n")
        f.flush()
        os.fsync(f.fileno())


def mark(db: sqlite_utils.Database, entry: str, story_id: int, kind: str, at: str | None = None) -> None:
    """Note in the store that it holds the change journalled as `entry` (written, or re-applied after a restore)."""
    db.execute(
        "INSERT OR IGNORE INTO journal_marks (entry, story_id, kind, at) VALUES (?, ?, ?, ?)",
        [entry, story_id, kind, at or now_iso()],
    )


def holds(db: sqlite_utils.Database, entry: str) -> bool:
    return bool(db.execute("SELECT 1 FROM journal_marks WHERE entry = ?", [entry]).fetchone())


def entries(root: Path) -> list[dict[str, Any]]:
    path = root / JOURNAL_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def journal_path(db: sqlite_utils.Database) -> Path | None:
    """The journal beside this store's file: wherever a store is written, its journal goes with it."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file).parent / JOURNAL_NAME
    return None
