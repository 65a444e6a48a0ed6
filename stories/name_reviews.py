"""The story page's name review (identity.names_for_review), kept per version of what it reads.

Running the identity rules over every text was half of each story page's time at 100,000 stories
(issue 18). The list is kept under identity.version_key, the hash of everything a published version
depends on (every published text, the recorded names, the consent's identity level, the reviewer's
name decisions, the organisation's words and the rules themselves), so a change to any of them makes
the kept list stale at once and it is found again, never shown out of date: a name review must never
show less than it should. The decisions are joined on each view, not kept, so who decided and when
is always current.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from stories import folding
from stories.db import write_transaction
from stories.identity import names_for_review, version_key
from stories.sqlite import sqlite3
from stories.story import Story


def names_to_review(db: sqlite_utils.Database, story: Story) -> list[dict[str, Any]]:
    """What names_for_review(story) returns, from the kept list while it is current."""
    key = version_key(story)
    row = db.execute("SELECT key, review FROM name_reviews WHERE story_id = ?", [story.id]).fetchone()
    if row is not None and row[0] == key:
        found = json.loads(row[1])
    else:
        found = [{name: value for name, value in item.items() if name != "decision"} for item in names_for_review(story)]
        _keep(db, story.id, key, found)
    decisions = {folding.readable(name): row for name, row in story.name_decisions.items()}
    return [{**item, "decision": decisions.get(item["name"])} for item in found]


def _keep(db: sqlite_utils.Database, story_id: int, key: str, found: list[dict[str, Any]]) -> None:
    """Kept if the store is free this moment: a page view never queues behind a writer for a list it can find
    again, nor waits for the disk (a kept list lost to a power cut is found again at the next view)."""
    conn = db.conn
    if conn.in_transaction:
        return
    (synchronous,), (busy,) = conn.execute("PRAGMA synchronous").fetchone(), conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        with write_transaction(db):
            db.execute(
                "INSERT INTO name_reviews (story_id, key, review) VALUES (?, ?, ?)"
                " ON CONFLICT (story_id) DO UPDATE SET key = excluded.key, review = excluded.review",
                [story_id, key, json.dumps(found)],
            )
    except sqlite3.OperationalError:  # another writer holds the store: kept at a later view
        pass
    finally:
        conn.execute(f"PRAGMA synchronous = {int(synchronous)}")
        conn.execute(f"PRAGMA busy_timeout = {int(busy)}")
