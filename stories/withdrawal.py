"""Withdrawal and erasure: as easy as giving consent, and leaving no trace.

Every withdrawal or erasure is also appended to a journal beside the store (ids, uids, dates
and actors only, never content), so `storybank restore` can re-apply the ones made after a
backup. Ids can come round again after a restore; a story's uid never does, so an entry is only
ever re-applied to the story it was written for.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
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
from stories.stored_files import files_in_use, story_files
from stories.validation import Invalid

JOURNAL_NAME = "withdrawals.jsonl"
log = logging.getLogger(__name__)
MAX_REASON = 2000


def withdraw(
    db: sqlite_utils.Database, story_id: int, *, actor: str, reason: str, journal_entry: str | None = None
) -> str | None:
    """Take a story out of every audience but its team's record of the withdrawal.

    Returns the journal entry the withdrawal is recorded under (pass one to re-apply an entry),
    or None if consent was withdrawn already and nothing changed.
    """
    reason = _checked_reason(reason)
    with write_transaction(db):
        events = list(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
        if not events:
            raise Invalid({"story": "There is no such story."})
        consent = current_consent(events)
        if consent is not None and consent.withdrawn:
            return None  # already withdrawn: withdrawing twice changes nothing
        journal_entry = journal_entry or secrets.token_hex(8)
        add_consent_event(db, story_id, WITHDRAWN, actor, reason=reason, journal_entry=journal_entry)
        record_removal(db, story_id)
        request_destruction(db, story_id)
        # Board case studies being drafted hold the storyteller's words for an audience now refused.
        db.execute("DELETE FROM case_studies WHERE story_id = ?", [story_id])
    return journal_entry


def erase(db: sqlite_utils.Database, story_id: int, *, actor: str, reason: str, files: list[Path]) -> list[Path]:
    """Delete a story and everything recorded from it, keeping only a tombstone; returns files to remove.

    `files` are the folders whose content-addressed files may belong to this story (evidence, audio);
    a file is removed only when no remaining story (nor anyone's upload in waiting) refers to it.
    """
    _checked_reason(reason)
    with write_transaction(db):
        uid = story_uid(db, story_id)
        if uid is None:
            raise Invalid({"story": "There is no such story."})
        own_files = story_files(db, story_id)
        request_destruction(db, story_id)
        db.execute("DELETE FROM stories WHERE id = ?", [story_id])  # cascades to consent, links, tags, names
        db.execute(
            "INSERT OR REPLACE INTO tombstones (story_id, story_uid, erased_at, actor) VALUES (?, ?, ?, ?)",
            [story_id, uid, now_iso(), actor],
        )
        record_removal(db, story_id)
        audit.record(db, actor, f"consent.{ERASED}", story_id)
        still_used = own_files & files_in_use(db)
    # secure_delete zeroes the freed pages; the checkpoint moves them out of the WAL too. If readers
    # keep it busy, the worker's periodic checkpoint finishes the job within minutes.
    if not checkpoint(db):
        log.warning("erasure of story %s: the WAL is still busy; it will be checkpointed by the worker", story_id)
    return [folder / name for folder in files for name in own_files - still_used if (folder / name).exists()]


def story_uid(db: sqlite_utils.Database, story_id: int) -> str | None:
    row = db.execute("SELECT uid FROM stories WHERE id = ?", [story_id]).fetchone()
    return row[0] if row else None


def journal(root: Path, story_id: int, kind: str, actor: str, *, story_uid: str | None = None, entry: str | None = None) -> None:
    """Append to the journal that outlives a restored backup (no content, only ids)."""
    line = {"story_id": story_id, "story_uid": story_uid, "entry": entry, "kind": kind, "at": now_iso(), "actor": actor}
    with open(root / JOURNAL_NAME, "a") as f:
        f.write(json.dumps(line) + "\n")
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
        story_id = _story_written_for(db, entry)
        if entry["kind"] == ERASED:
            if story_id is not None:
                for path in erase(db, story_id, actor=entry["actor"], reason="re-applied after restore", files=files):
                    path.unlink(missing_ok=True)
                redone["erased"] += 1
            elif not db.execute(
                "SELECT 1 FROM tombstones WHERE story_id = ? UNION SELECT 1 FROM stories WHERE id = ?",
                [entry["story_id"], entry["story_id"]],
            ).fetchone():
                db.execute(
                    "INSERT INTO tombstones (story_id, story_uid, erased_at, actor) VALUES (?, ?, ?, ?)",
                    [entry["story_id"], entry.get("story_uid"), entry["at"], entry["actor"]],
                )
        elif entry["kind"] == WITHDRAWN and story_id is not None and not _in_store(db, story_id, entry):
            if withdraw(db, story_id, actor=entry["actor"], reason="re-applied after restore", journal_entry=entry.get("entry")):
                redone["withdrawn"] += 1
    return redone


def _story_written_for(db: sqlite_utils.Database, entry: dict[str, Any]) -> int | None:
    """The id of the story this journal entry was written for, if the store holds it."""
    row = db.execute("SELECT uid, created_at FROM stories WHERE id = ?", [entry["story_id"]]).fetchone()
    if row is None:
        return None
    if entry.get("story_uid"):
        return entry["story_id"] if row[0] == entry["story_uid"] else None
    # An entry from before stories had uids: a story created after it was written cannot be its story.
    return entry["story_id"] if row[1] <= entry["at"] else None


def _in_store(db: sqlite_utils.Database, story_id: int, entry: dict[str, Any]) -> bool:
    """Does the store already hold this withdrawal (perhaps overtaken since by fresh consent)?"""
    if entry.get("entry"):
        return bool(
            db.execute(
                "SELECT 1 FROM consent_events WHERE story_id = ? AND journal_entry = ?", [story_id, entry["entry"]]
            ).fetchone()
        )
    # An entry from before journal entries were named: go by time.
    events = list(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
    consent = current_consent(events)
    if consent is not None and consent.withdrawn:
        return True
    return any(e["kind"] == GIVEN and e["recorded_at"] > entry["at"] for e in events)


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": "Please give a reason for the record (it is never published)."})
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": f"The reason is {len(reason):,} characters long; the limit is {MAX_REASON:,}."})
    return reason
