"""Stored identity-applied versions of stories (see stories/identity.py), with their search word families:
load and save, nothing else.

A version's families (stories/search.py) are kept beside it with the mark of the stemming rules that
made them. They are read back only under today's mark, and storing a version anew clears them, so a
version is never searched by another version's words (fail closed: no families means work them out).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlite_utils

from stories.db import write_transaction
from stories.search import families_mark


class Stored(NamedTuple):
    key: str
    version: dict[str, Any]
    families: str | None  # None unless made by today's stemming rules


_COLUMNS = "story_id, key, version, CASE WHEN families_mark = :mark THEN families END"


def _stored(rows: Any) -> dict[int, Stored]:
    return {row[0]: Stored(row[1], json.loads(row[2]), row[3]) for row in rows}


def load_all(db: sqlite_utils.Database) -> dict[int, Stored]:
    return _stored(db.execute(f"SELECT {_COLUMNS} FROM published_versions", {"mark": families_mark()}))


def load_for(db: sqlite_utils.Database, story_ids: list[int]) -> dict[int, Stored]:
    """The stored versions of these stories only: a change to one story reads one, not 100,000."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM published_versions WHERE story_id IN (SELECT value FROM json_each(:ids))",
        {"mark": families_mark(), "ids": json.dumps(story_ids)},
    )
    return _stored(rows)


def load_one(db: sqlite_utils.Database, story_id: int) -> tuple[str, dict[str, Any]] | None:
    row = db.execute("SELECT key, version FROM published_versions WHERE story_id = ?", [story_id]).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def save(
    db: sqlite_utils.Database,
    versions: Mapping[int, tuple[str, dict[str, Any]]],
    families: Mapping[int, str] | None = None,
) -> None:
    """Store versions, each with its families if given; a version stored without them loses any it had."""
    if not versions:
        return
    mark, families = families_mark(), families or {}
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO published_versions (story_id, key, version, families, families_mark) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (story_id) DO UPDATE SET key = excluded.key, version = excluded.version,"
            " families = excluded.families, families_mark = excluded.families_mark",
            [
                (story_id, key, json.dumps(version), families.get(story_id), mark if story_id in families else None)
                for story_id, (key, version) in versions.items()
            ],
        )


def save_families(db: sqlite_utils.Database, families: Mapping[int, tuple[str, str]]) -> None:
    """Store the families of versions already stored, story id -> (version key, families): only where
    that very version is still the one stored (another run may have stored a newer one meanwhile)."""
    if not families:
        return
    mark = families_mark()
    with write_transaction(db):
        db.conn.executemany(
            "UPDATE published_versions SET families = ?, families_mark = ? WHERE story_id = ? AND key = ?",
            [(found, mark, story_id, key) for story_id, (key, found) in families.items()],
        )


def forget_all(db: sqlite_utils.Database) -> None:
    """Drop every stored version, so the next publish redacts every story again (bench/scale.py's cold run)."""
    with write_transaction(db):
        db.execute("DELETE FROM published_versions")
