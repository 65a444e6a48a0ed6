"""Stored identity-applied versions of stories (see stories/identity.py): load and save, nothing else."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from stories.db import write_transaction


def load_all(db: sqlite_utils.Database) -> dict[int, tuple[str, dict[str, Any]]]:
    return {row[0]: (row[1], json.loads(row[2])) for row in db.execute("SELECT story_id, key, version FROM published_versions")}


def load_for(db: sqlite_utils.Database, story_ids: list[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """The stored versions of these stories only: a change to one story reads one, not 100,000."""
    rows = db.execute(
        "SELECT story_id, key, version FROM published_versions WHERE story_id IN (SELECT value FROM json_each(?))",
        [json.dumps(story_ids)],
    )
    return {row[0]: (row[1], json.loads(row[2])) for row in rows}


def load_one(db: sqlite_utils.Database, story_id: int) -> tuple[str, dict[str, Any]] | None:
    row = db.execute("SELECT key, version FROM published_versions WHERE story_id = ?", [story_id]).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def save(db: sqlite_utils.Database, versions: dict[int, tuple[str, dict[str, Any]]]) -> None:
    if not versions:
        return
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO published_versions (story_id, key, version) VALUES (?, ?, ?)"
            " ON CONFLICT (story_id) DO UPDATE SET key = excluded.key, version = excluded.version",
            [(story_id, key, json.dumps(version)) for story_id, (key, version) in versions.items()],
        )


def forget_all(db: sqlite_utils.Database) -> None:
    """Drop every stored version, so the next publish redacts every story again (bench/scale.py's cold run)."""
    with write_transaction(db):
        db.execute("DELETE FROM published_versions")
