"""Stored files (recordings, signed consent forms): which story each belongs to, and uploads no story has claimed.

A file is stored the moment it is uploaded, so a form sent back for another field need not be
uploaded again. Until a story claims it, only the person who uploaded it may attach it (naming a
stored file in a form is not enough), and the worker deletes it once UNCLAIMED_HOURS have passed.
A file nothing refers to cannot be scanned for words (it is audio or a scan), so check-no-trace
names each one instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from stories import clock
from stories.clock import now_iso
from stories.db import write_transaction

AUDIO, EVIDENCE = "audio", "evidence"
FOLDERS = (AUDIO, EVIDENCE)
UNCLAIMED_HOURS = 24

UPLOAD_AGAIN = {
    AUDIO: "The recording uploaded earlier could not be found; please choose the file again.",
    EVIDENCE: "The consent form on file could not be found; please upload it again.",
}


def register_upload(db: sqlite_utils.Database, folder: str, name: str, actor: str) -> None:
    """Note a file just stored for `actor`, who alone may now attach it to a story."""
    db.execute(
        "INSERT INTO pending_uploads (folder, file, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?)",
        [folder, name, actor, now_iso()],
    )


def is_pending(db: sqlite_utils.Database, folder: str, name: str, actor: str) -> bool:
    return bool(
        db.execute(
            "SELECT 1 FROM pending_uploads WHERE folder = ? AND file = ? AND uploaded_by = ?", [folder, name, actor]
        ).fetchone()
    )


def claim_upload(db: sqlite_utils.Database, folder: str, name: str, actor: str) -> None:
    """A story has taken one of `actor`'s uploads of this file (checked with `is_pending`): that one is no longer waiting.

    Only one: the same form uploaded again (one storyteller's, for another of their stories) waits for its own story.
    """
    db.execute(
        "DELETE FROM pending_uploads WHERE id ="
        " (SELECT min(id) FROM pending_uploads WHERE folder = ? AND file = ? AND uploaded_by = ?)",
        [folder, name, actor],
    )


def story_files(db: sqlite_utils.Database, story_id: int) -> set[str]:
    """Names of the stored files (consent forms, recordings) that belong to one story."""
    return {row[0] for row in db.execute(FILES_SQL, [story_id, story_id])}


def all_story_files(db: sqlite_utils.Database) -> set[str]:
    return {row[0] for row in db.execute(ALL_FILES_SQL)}


def note_form(db: sqlite_utils.Database, name: str, fingerprints: Iterable[str]) -> None:
    """Remember what a stored signed form shows (`evidence.form_fingerprints`), so the same document is known in other bytes."""
    for fingerprint in fingerprints:
        db.execute("INSERT OR IGNORE INTO form_fingerprints (file, fingerprint) VALUES (?, ?)", [name, fingerprint])


def form_holders(db: sqlite_utils.Database, name: str) -> list[tuple[int, list[str]]]:
    """Whose stories have this signed form on file (in any consent event), in these bytes or any showing the same.

    One (storyteller id, names recorded with the story) for each story.
    """
    return [
        (storyteller, json.loads(names))
        for storyteller, names in db.execute(
            "SELECT DISTINCT stories.storyteller_id, stories.storyteller_names FROM consent_events"
            " JOIN stories ON stories.id = story_id WHERE evidence_file IN (" + SAME_FORM_SQL + ")",
            [name, name],
        )
    ]


def recording_taken(db: sqlite_utils.Database, name: str) -> bool:
    """Is this stored recording already a story's? A recording is one telling, so it belongs to one story."""
    return bool(db.execute("SELECT 1 FROM recordings WHERE audio_file = ?", [name]).fetchone())


def forget_files(db: sqlite_utils.Database, names: set[str]) -> set[str]:
    """Of an erased story's files, those no remaining story refers to: forgotten here, to be deleted.

    Uploads waiting with the same bytes are forgotten too: an erasure takes the bytes away, and
    nobody may claim them afterwards by naming them. (Call inside the erasure's transaction.)
    """
    doomed = names - all_story_files(db)
    for name in doomed:
        db.execute("DELETE FROM pending_uploads WHERE file = ?", [name])
        db.execute("DELETE FROM form_fingerprints WHERE file = ?", [name])
    return doomed


def unaccounted_files(db: sqlite_utils.Database, root: Path) -> list[tuple[Path, str | None]]:
    """Every file in the instance's audio and evidence folders that no story refers to.

    Each comes with when it was uploaded if it is an upload waiting to be claimed, else None.
    """
    owned = all_story_files(db)
    pending = dict(db.execute("SELECT folder || '/' || file, max(uploaded_at) FROM pending_uploads GROUP BY folder, file"))
    found = []
    for folder in FOLDERS:
        if (root / folder).is_dir():
            for path in sorted(p for p in (root / folder).iterdir() if p.is_file() and p.name not in owned):
                found.append((path, pending.get(f"{folder}/{path.name}")))
    return found


def sweep_unclaimed(db: sqlite_utils.Database, root: Path) -> list[Path]:
    """Delete uploads no story claimed within UNCLAIMED_HOURS (and stray files as old); returns what went."""
    cutoff = clock.now() - dt.timedelta(hours=UNCLAIMED_HOURS)
    with write_transaction(db):  # the write lock: no story can claim a file while it is being deleted
        db.execute("DELETE FROM pending_uploads WHERE uploaded_at < ?", [cutoff.isoformat(timespec="seconds")])
        # A file with no row at all (a crash between storing and noting it) goes once it is as old.
        doomed = [
            path
            for path, pending in unaccounted_files(db, root)
            if pending is None and dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < cutoff
        ]
        _forget(db, doomed)
    return doomed


def remove_unreferenced(db: sqlite_utils.Database, root: Path) -> list[Path]:
    """Delete every file no story and no pending upload refers to, whatever its age (after a restore)."""
    with write_transaction(db):
        doomed = [path for path, pending in unaccounted_files(db, root) if pending is None]
        _forget(db, doomed)
    return doomed


def _forget(db: sqlite_utils.Database, paths: list[Path]) -> None:
    """Delete these files, and the fingerprints of any that were forms."""
    for path in paths:
        path.unlink(missing_ok=True)
        db.execute("DELETE FROM form_fingerprints WHERE file = ?", [path.name])


# Every stored file a story refers to: signed consent forms and recordings.
FILES_SQL = (
    "SELECT evidence_file FROM consent_events WHERE evidence_file IS NOT NULL AND story_id = ?"
    " UNION SELECT audio_file FROM recordings WHERE story_id = ?"
)
ALL_FILES_SQL = "SELECT evidence_file FROM consent_events WHERE evidence_file IS NOT NULL UNION SELECT audio_file FROM recordings"
# Every stored file showing the same form as file ?: sharing any of its fingerprints (itself included, even without any).
SAME_FORM_SQL = (
    "SELECT ? UNION SELECT file FROM form_fingerprints"
    " WHERE fingerprint IN (SELECT fingerprint FROM form_fingerprints WHERE file = ?)"
)
