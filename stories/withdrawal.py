"""Withdrawal and erasure: as easy as giving consent, and leaving no trace.

Every withdrawal or erasure is also appended to a journal beside the store (ids, dates and
actors only, never content), so `storybank restore` can re-apply the ones made after a backup.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.consent import ERASED, GIVEN, WITHDRAWN, current_consent
from stories.db import checkpoint, write_transaction
from stories.exports import request_destruction
from stories.records import add_consent_event
from stories.removals import record_removal
from stories.validation import Invalid

JOURNAL_NAME = "withdrawals.jsonl"
log = logging.getLogger(__name__)
MAX_REASON = 2000


def withdraw(db: sqlite_utils.Database, story_id: int, *, actor: str, reason: str) -> None:
    """Take a story out of every audience but its team's record of the withdrawal."""
    reason = _checked_reason(reason)
    with write_transaction(db):
        events = list(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
        if not events:
            raise Invalid({"story": "There is no such story."})
        consent = current_consent(events)
        if consent is not None and consent.withdrawn:
            return  # already withdrawn: withdrawing twice changes nothing
        add_consent_event(db, story_id, WITHDRAWN, actor, reason=reason)
        record_removal(db, story_id)
        request_destruction(db, story_id)
        # Board case studies being drafted hold the storyteller's words for an audience now refused.
        db.execute("DELETE FROM case_studies WHERE story_id = ?", [story_id])


def erase(db: sqlite_utils.Database, story_id: int, *, actor: str, reason: str, files: list[Path]) -> list[Path]:
    """Delete a story and everything recorded from it, keeping only a tombstone; returns files to remove.

    `files` are the folders whose content-addressed files may belong to this story (evidence, audio);
    a file is removed only when no remaining story refers to it.
    """
    _checked_reason(reason)
    with write_transaction(db):
        if not db.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone():
            raise Invalid({"story": "There is no such story."})
        own_files = story_files(db, story_id)
        request_destruction(db, story_id)
        db.execute("DELETE FROM stories WHERE id = ?", [story_id])  # cascades to consent, links, tags, names
        db.execute(
            "INSERT OR REPLACE INTO tombstones (story_id, erased_at, actor) VALUES (?, ?, ?)", [story_id, now_iso(), actor]
        )
        record_removal(db, story_id)
        audit.record(db, actor, f"consent.{ERASED}", story_id)
        still_used = {name for name in own_files if name in all_story_files(db)}
    # secure_delete zeroes the freed pages; the checkpoint moves them out of the WAL too. If readers
    # keep it busy, the worker's periodic checkpoint finishes the job within minutes.
    if not checkpoint(db):
        log.warning("erasure of story %s: the WAL is still busy; it will be checkpointed by the worker", story_id)
    return [folder / name for folder in files for name in own_files - still_used if (folder / name).exists()]


def story_files(db: sqlite_utils.Database, story_id: int) -> set[str]:
    """Names of the stored files (consent forms, recordings) that belong to one story."""
    rows = db.execute(FILES_SQL, [story_id, story_id]).fetchall()
    return {row[0] for row in rows}


def all_story_files(db: sqlite_utils.Database) -> set[str]:
    return {row[0] for row in db.execute(ALL_FILES_SQL)}


def journal(root: Path, story_id: int, kind: str, actor: str) -> None:
    """Append to the journal that outlives a restored backup (no content, only ids)."""
    line = json.dumps({"story_id": story_id, "kind": kind, "at": now_iso(), "actor": actor}) + "\n"
    with open(root / JOURNAL_NAME, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def journal_entries(root: Path) -> list[dict[str, Any]]:
    path = root / JOURNAL_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reapply_journal(db: sqlite_utils.Database, root: Path, *, files: list[Path]) -> dict[str, int]:
    """After restoring a backup, redo every withdrawal and erasure the backup does not yet show."""
    redone = {"withdrawn": 0, "erased": 0}
    for entry in journal_entries(root):
        story_id = entry["story_id"]
        exists = db.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone()
        if entry["kind"] == ERASED:
            if exists:
                for path in erase(db, story_id, actor=entry["actor"], reason="re-applied after restore", files=files):
                    path.unlink(missing_ok=True)
                redone["erased"] += 1
            elif not db.execute("SELECT 1 FROM tombstones WHERE story_id = ?", [story_id]).fetchone():
                db.execute(
                    "INSERT INTO tombstones (story_id, erased_at, actor) VALUES (?, ?, ?)",
                    [story_id, entry["at"], entry["actor"]],
                )
        elif entry["kind"] == WITHDRAWN and exists and not _withdrawn_since(db, story_id, entry["at"]):
            withdraw(db, story_id, actor=entry["actor"], reason="re-applied after restore")
            redone["withdrawn"] += 1
    return redone


def _withdrawn_since(db: sqlite_utils.Database, story_id: int, at: str) -> bool:
    """Is the withdrawal journalled at `at` already in this store (or overtaken by fresh consent)?"""
    events = list(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
    consent = current_consent(events)
    if consent is not None and consent.withdrawn:
        return True
    return any(e["kind"] == GIVEN and e["recorded_at"] > at for e in events)


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": "Please give a reason for the record (it is never published)."})
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": f"The reason is {len(reason):,} characters long; the limit is {MAX_REASON:,}."})
    return reason


# Every stored file a story refers to: signed consent forms and recordings.
FILES_SQL = (
    "SELECT evidence_file FROM consent_events WHERE evidence_file IS NOT NULL AND story_id = ?"
    " UNION SELECT audio_file FROM recordings WHERE story_id = ?"
)
ALL_FILES_SQL = "SELECT evidence_file FROM consent_events WHERE evidence_file IS NOT NULL UNION SELECT audio_file FROM recordings"
