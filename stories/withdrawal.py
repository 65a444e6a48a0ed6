"""Withdrawal and erasure: as easy as giving consent, and leaving no trace.

Every withdrawal or erasure is also journalled (stories/journal.py), so `storybank restore` can
re-apply the ones made after a backup.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlite_utils

from stories import audit, journal
from stories.clock import now_iso
from stories.consent import ERASED, WITHDRAWN, current_consent
from stories.db import checkpoint, write_transaction
from stories.exports import request_destruction
from stories.records import add_consent_event
from stories.removals import record_removal
from stories.stored_files import forget_files, story_files
from stories.validation import Invalid

log = logging.getLogger(__name__)
MAX_REASON = 2000


def withdraw(
    db: sqlite_utils.Database, story_id: int, *, actor: str, reason: str, journal_entry: str | None = None
) -> str | None:
    """Take a story out of every audience but its team's record of the withdrawal.

    Returns the journal entry the withdrawal is recorded under, or None if consent was withdrawn
    already and nothing changed. Pass `journal_entry` to re-apply an entry after a restore.
    """
    reason = _checked_reason(reason)
    with write_transaction(db):
        events = list(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
        if not events:
            raise Invalid({"story": "There is no such story."})
        consent = current_consent(events)
        if consent is not None and consent.withdrawn:
            return None  # already withdrawn: withdrawing twice changes nothing
        entry = journal_entry or journal.new_entry()
        add_consent_event(db, story_id, WITHDRAWN, actor, reason=reason, journal_entry=entry)
        record_removal(db, story_id)
        request_destruction(db, story_id)
        # Board case studies being drafted hold the storyteller's words for an audience now refused.
        db.execute("DELETE FROM case_studies WHERE story_id = ?", [story_id])
        if journal_entry:
            journal.mark(db, entry, story_id, WITHDRAWN)
        else:
            journal.append(db, story_id, WITHDRAWN, actor, entry=entry)
    return entry


def erase(
    db: sqlite_utils.Database, story_id: int, *, actor: str, reason: str, files: list[Path], reapplying: bool = False
) -> list[Path]:
    """Delete a story and everything recorded from it, keeping only a tombstone; returns files to remove.

    `files` are the folders whose content-addressed files may belong to this story (evidence, audio).
    Its files go whatever else points at them (an upload in waiting of the same bytes included),
    except a signed form that still evidences another story of the same storyteller.
    `reapplying`: an erasure from the journal, after a restore (not journalled again).
    """
    _checked_reason(reason)
    with write_transaction(db):
        uid = story_uid(db, story_id)
        if uid is None:
            raise Invalid({"story": "There is no such story."})
        if not reapplying:
            journal.append(db, story_id, ERASED, actor, entry=journal.new_entry())
        own_files = story_files(db, story_id)
        request_destruction(db, story_id)
        db.execute("DELETE FROM stories WHERE id = ?", [story_id])  # cascades to consent, links, tags, names
        db.execute(
            "INSERT OR REPLACE INTO tombstones (story_id, story_uid, erased_at, actor) VALUES (?, ?, ?, ?)",
            [story_id, uid, now_iso(), actor],
        )
        record_removal(db, story_id)
        audit.record(db, actor, f"consent.{ERASED}", story_id)
        doomed = forget_files(db, own_files)
    # secure_delete zeroes the freed pages; the checkpoint moves them out of the WAL too. If readers
    # keep it busy, the worker's periodic checkpoint finishes the job within minutes.
    if not checkpoint(db):
        log.warning("erasure of story %s: the WAL is still busy; it will be checkpointed by the worker", story_id)
    return [folder / name for folder in files for name in doomed if (folder / name).exists()]


def story_uid(db: sqlite_utils.Database, story_id: int) -> str | None:
    row = db.execute("SELECT uid FROM stories WHERE id = ?", [story_id]).fetchone()
    return row[0] if row else None


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": "Please give a reason for the record (it is never published)."})
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": f"The reason is {len(reason):,} characters long; the limit is {MAX_REASON:,}."})
    return reason
