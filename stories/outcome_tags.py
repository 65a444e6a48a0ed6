"""Outcome tags: machine suggestions with provenance, and the people's decisions that make them evidence.

Only confirmed tags are published. A person may accept, reject, change a suggestion's direction,
or add a tag of their own by selecting the words that show it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.db import write_transaction
from stories.outcomes import DEFAULT_FRAMEWORK, DIRECTIONS
from stories.validation import Invalid


def save_suggestions(
    db: sqlite_utils.Database,
    story_id: int,
    suggestions: Iterable[Mapping[str, Any]],
    *,
    framework: str,
    version: str,
    provenance: Mapping[str, Any],
) -> int:
    """Replace this framework's undecided machine suggestions; domains a person already decided are left alone."""
    stamp = now_iso()
    added = 0
    with write_transaction(db):
        db.execute(
            "DELETE FROM outcome_tags WHERE story_id = ? AND framework = ? AND origin = 'machine' AND status = 'suggested'",
            [story_id, framework],
        )
        decided = {
            row[0]
            for row in db.execute(
                "SELECT domain FROM outcome_tags WHERE story_id = ? AND framework = ? AND status != 'suggested'",
                [story_id, framework],
            )
        }
        for item in suggestions:
            if item["domain"] in decided:
                continue
            db.execute(
                'INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, start, "end", evidence,'
                " audio_start, audio_end, origin, confidence, rule, provenance, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'machine', ?, ?, ?, 'suggested', ?)",
                [
                    story_id,
                    framework,
                    version,
                    item["domain"],
                    item["direction"],
                    item["start"],
                    item["end"],
                    item["evidence"],
                    item.get("audio_start"),
                    item.get("audio_end"),
                    item.get("confidence"),
                    item.get("rule"),
                    json.dumps(dict(provenance), sort_keys=True),
                    stamp,
                ],
            )
            added += 1
        audit.record(db, "system:tagger", "story.tags_suggested", story_id, framework=framework, count=added)
    return added


def decide_tag(
    db: sqlite_utils.Database,
    story_id: int,
    tag_id: int,
    decision: str,
    *,
    actor: str,
    user_id: int | None,
    direction: str | None = None,
) -> None:
    """Accept (optionally with a changed direction) or reject one suggestion."""
    if decision not in ("confirmed", "rejected"):
        raise Invalid({"decision": "Accept or reject the suggestion."})
    if direction is not None and direction not in DIRECTIONS:
        raise Invalid({"direction": f"Direction must be one of {', '.join(DIRECTIONS)}."})
    with write_transaction(db):
        row = db.execute("SELECT direction FROM outcome_tags WHERE id = ? AND story_id = ?", [tag_id, story_id]).fetchone()
        if row is None:
            raise Invalid({"tag": "That tag is not on this story."})
        db.execute(
            "UPDATE outcome_tags SET status = ?, direction = ?, decided_by = ?, decided_at = ? WHERE id = ?",
            [decision, direction or row[0], user_id, now_iso(), tag_id],
        )
        audit.record(db, actor, f"story.tag_{decision}", story_id, tag_id=tag_id)


def add_tag(
    db: sqlite_utils.Database,
    story_id: int,
    *,
    domain: str,
    direction: str,
    start: int,
    end: int,
    actor: str,
    user_id: int | None,
    domains: Iterable[str],
    framework: str = DEFAULT_FRAMEWORK,
    version: str = "",
) -> int:
    """A person's own tag on the words they selected: confirmed as it is made."""
    body = db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()
    if body is None:
        raise Invalid({"story": "There is no such story."})
    problems = {}
    if domain not in set(domains):
        problems["domain"] = "Choose an outcome domain."
    if direction not in DIRECTIONS:
        problems["direction"] = f"Direction must be one of {', '.join(DIRECTIONS)}."
    if not (0 <= start < end <= len(body[0])):
        problems["evidence"] = "Select the words in the story that show this outcome."
    if problems:
        raise Invalid(problems)
    with write_transaction(db):
        # A person's tag replaces any other tag for that domain: one tag per domain per story.
        db.execute("DELETE FROM outcome_tags WHERE story_id = ? AND framework = ? AND domain = ?", [story_id, framework, domain])
        tag_id = db.execute(
            'INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, start, "end", evidence, origin,'
            " status, decided_by, decided_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'person', 'confirmed', ?, ?, ?)",
            [story_id, framework, version, domain, direction, start, end, body[0][start:end], user_id, now_iso(), now_iso()],
        ).lastrowid
        audit.record(db, actor, "story.tag_added", story_id, tag_id=tag_id)
    return tag_id
