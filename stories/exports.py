"""The export register: who took a copy of an identifiable story out of Storybank, and when.

When a story is withdrawn or erased, everyone who exported it is asked to destroy their copy,
and the register shows when they confirmed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.consent import IDENTITY_LEVELS, Consent
from stories.db import write_transaction
from stories.validation import Invalid

KIND_LABELS = {
    "csv": "CSV file",
    "markdown": "Case study (Markdown)",
    "html": "Case study (web page)",
    "pdf": "Case study (PDF)",
    "qdpx": "Evaluation project (REFI-QDA)",
    "board_pack": "Board pack: promises and delivery (PDF)",
}


def record_export(
    db: sqlite_utils.Database, story_id: int, *, user_id: int, actor: str, kind: str, audience: str, consent_version: int | None
) -> int:
    return record_exports(db, {story_id: consent_version}, user_id=user_id, actor=actor, kind=kind, audience=audience)[0]


def record_exports(
    db: sqlite_utils.Database, consent_versions: Mapping[int, int | None], *, user_id: int, actor: str, kind: str, audience: str
) -> list[int]:
    """One copy holding several stories: a register row (and an audit entry) per story, all at one moment."""
    stamp, export_ids = now_iso(), []
    with write_transaction(db):
        for story_id, consent_version in consent_versions.items():
            export_ids.append(
                db.execute(
                    "INSERT INTO exports (story_id, user_id, kind, audience, consent_version, exported_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [story_id, user_id, kind, audience, consent_version, stamp],
                ).lastrowid
            )
            audit.record(db, actor, "story.export", story_id, kind=kind, audience=audience, consent_version=consent_version)
    return export_ids


def request_destruction(db: sqlite_utils.Database, story_id: int) -> int:
    """Ask every holder of a copy of this story to destroy it; returns how many were asked."""
    return db.execute(
        "UPDATE exports SET destroy_requested_at = ? WHERE story_id = ? AND destroy_requested_at IS NULL",
        [now_iso(), story_id],
    ).rowcount


def recall_beyond(db: sqlite_utils.Database, story_id: int, old: Consent, new: Consent) -> int:
    """Narrowed consent: ask back every copy the new terms no longer allow; returns how many were asked.

    A copy made for an audience the storyteller has left out goes back. So does every copy once the
    storyteller is shown less of themselves (less identifying, or no special-category details): each
    was made showing what they have now taken back.
    """
    shows_less_of_them = IDENTITY_LEVELS.index(new.identity_level) > IDENTITY_LEVELS.index(old.identity_level) or (
        old.special_category and not new.special_category
    )
    return db.execute(
        "UPDATE exports SET destroy_requested_at = ? WHERE story_id = ? AND destroy_requested_at IS NULL"
        " AND (? OR audience NOT IN (SELECT value FROM json_each(?)))",
        [now_iso(), story_id, shows_less_of_them, json.dumps(sorted(new.audiences))],
    ).rowcount


def awaiting_destruction(db: sqlite_utils.Database, user_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT * FROM exports WHERE user_id = ? AND destroy_requested_at IS NOT NULL AND destroyed_at IS NULL ORDER BY id",
            [user_id],
        )
    )


def confirm_destroyed(db: sqlite_utils.Database, export_id: int, *, user_id: int, actor: str) -> None:
    with write_transaction(db):
        row = db.execute(
            "SELECT story_id, destroy_requested_at FROM exports WHERE id = ? AND user_id = ?", [export_id, user_id]
        ).fetchone()
        if row is None or row[1] is None:
            raise Invalid({"export": "There is no copy of yours waiting to be destroyed with that number."})
        db.execute("UPDATE exports SET destroyed_at = ? WHERE id = ? AND destroyed_at IS NULL", [now_iso(), export_id])
        audit.record(db, actor, "story.export_destroyed", row[0], export_id=export_id)


def made_by(db: sqlite_utils.Database, user_id: int) -> list[dict[str, Any]]:
    """Every copy this user exported, newest first. No titles: a presenter may see a story only as the board does."""
    return list(db.query("SELECT * FROM exports WHERE user_id = ? ORDER BY id DESC", [user_id]))


def register(db: sqlite_utils.Database, organisation_id: int) -> list[dict[str, Any]]:
    """Every export made by this organisation's users, newest first."""
    return list(
        db.query(
            "SELECT exports.*, users.display_name AS exported_by FROM exports JOIN users ON users.id = exports.user_id"
            " WHERE users.organisation_id = ? ORDER BY exports.id DESC",
            [organisation_id],
        )
    )
