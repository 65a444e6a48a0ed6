"""Backups: a consistent online copy of the working store and its files, and restoring one.

A restore puts the backup back, then re-applies from the journal (stories/journal.py) every
change since that must not be undone: withdrawals and erasures, consent narrowed, name decisions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

import sqlite_utils

from stories import audit, journal
from stories.clock import now
from stories.consent import AMENDED, ERASED, GIVEN, IDENTITY_LEVELS, PUBLISHED_AUDIENCES, WITHDRAWN, Consent, current_consent
from stories.db import connect, write_transaction
from stories.instance import Instance, nothing_running
from stories.records import add_consent_event, back_to_review
from stories.sqlite import sqlite3
from stories.stored_files import remove_unreferenced
from stories.withdrawal import erase, withdraw

REAPPLIED = "re-applied after restore"

STORE_NAME = "storybank.db"
FILE_FOLDERS = ("evidence", "audio")


def backup(instance: Instance, destination: Path) -> Path:
    """Copy the store (VACUUM INTO: consistent while the app runs, no deleted text) and its files."""
    target = destination / f"storybank-{now().strftime('%Y%m%dT%H%M%SZ')}"
    target.mkdir(parents=True)
    db = connect(instance.store_path)
    try:
        db.execute("VACUUM INTO ?", [str(target / STORE_NAME)])
    finally:
        db.close()
    for folder in FILE_FOLDERS:
        source = instance.root / folder
        if source.exists():
            shutil.copytree(source, target / folder)
    return target


def restore(instance: Instance, source: Path) -> dict[str, int]:
    """Put a backup back in place, then re-apply withdrawals and erasures made since it was taken.

    Story ids never go back: the next story gets an id past every one the old store, the journal,
    the tombstones and the published files have used. The recordings and forms of stories the
    backup does not hold are deleted, and every session ends (a cookie logged out since must not
    work again). Refuses (InstanceBusy) while an app, worker or Datasette runs on the instance;
    republish after, inside `nothing_running` (the published files may hold stories told since).
    """
    if not (source / STORE_NAME).is_file():
        raise FileNotFoundError(f"{source} is not a Storybank backup (no {STORE_NAME}).")
    with nothing_running(instance):
        return _restore(instance, source)


def _restore(instance: Instance, source: Path) -> dict[str, int]:
    issued = _ids_issued(instance)
    temp = instance.store_path.with_suffix(".restoring")
    shutil.copyfile(source / STORE_NAME, temp)
    for leftover in (instance.store_path.with_name(STORE_NAME + "-wal"), instance.store_path.with_name(STORE_NAME + "-shm")):
        leftover.unlink(missing_ok=True)  # a WAL from the old store must never be applied to the backup
    os.replace(temp, instance.store_path)
    for folder in FILE_FOLDERS:
        if (source / folder).exists():
            shutil.copytree(source / folder, instance.root / folder, dirs_exist_ok=True)
    with instance.connection() as db:
        redone = reapply_journal(db, instance.root, files=[instance.evidence_dir, instance.audio_dir])
        _never_reuse_ids(db, issued)
        remove_unreferenced(db, instance.root)
        db.execute("DELETE FROM sessions")
        return redone


def reapply_journal(db: sqlite_utils.Database, root: Path, *, files: list[Path]) -> dict[str, int]:
    """Redo every journalled change the restored store does not hold, in the order they were made."""
    redone = {"withdrawn": 0, "erased": 0, "narrowed": 0, "names": 0}
    undecided: set[int] = set()  # stories whose names are to be decided again, counted once each
    for entry in journal.entries(root):
        story_id = _story_written_for(db, entry)
        if entry["kind"] == ERASED:
            if story_id is not None:
                for path in erase(db, story_id, actor=entry["actor"], reason=REAPPLIED, files=files, reapplying=True):
                    path.unlink(missing_ok=True)
                redone["erased"] += 1
            else:
                _tombstone(db, entry)
        elif story_id is None or _in_store(db, story_id, entry):
            continue
        elif entry["kind"] == WITHDRAWN:
            if withdraw(db, story_id, actor=entry["actor"], reason=REAPPLIED, journal_entry=entry.get("entry")):
                redone["withdrawn"] += 1
        elif entry["kind"] == journal.NARROWED:
            redone["narrowed"] += _narrow_again(db, story_id, entry)
        elif entry["kind"] == journal.NAME_DECISION:
            _names_to_decide_again(db, story_id, entry)
            undecided.add(story_id)
    redone["names"] = len(undecided)
    return redone


def _narrow_again(db: sqlite_utils.Database, story_id: int, entry: dict[str, Any]) -> int:
    """The consent in force, narrowed by the journalled terms in every respect (and never widened)."""
    with write_transaction(db):
        journal.mark(db, entry["entry"], story_id, journal.NARROWED)
        consent = current_consent(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
        if consent is None or consent.withdrawn:
            return 0  # nothing is shown to narrow
        narrowed = narrower(consent, entry["terms"])
        if narrowed == consent:
            return 0
        add_consent_event(db, story_id, AMENDED, entry["actor"], narrowed, reason=REAPPLIED, journal_entry=entry["entry"])
    return 1


def narrower(consent: Consent, terms: dict[str, Any]) -> Consent:
    """Terms that show no more than either: the audiences both allow, the more hidden identity, the earlier review."""
    hidden = max(IDENTITY_LEVELS.index(consent.identity_level), IDENTITY_LEVELS.index(terms["identity_level"]))
    return dataclasses.replace(
        consent,
        audiences=consent.audiences & set(terms["audiences"]),
        identity_level=IDENTITY_LEVELS[hidden],
        special_category=consent.special_category and bool(terms["special_category"]),
        review_on=min(consent.review_on, dt.date.fromisoformat(terms["review_on"])),
    )


def _names_to_decide_again(db: sqlite_utils.Database, story_id: int, entry: dict[str, Any]) -> None:
    """A name decision the backup does not hold cannot be redone (the journal holds no names): fail closed.

    Every name decision of the story is undone and its sign-off lifted, so nothing of it goes
    beyond the team until a reviewer decides each name again and signs it off.
    """
    with write_transaction(db):
        journal.mark(db, entry["entry"], story_id, journal.NAME_DECISION)
        undone = db.execute("DELETE FROM name_decisions WHERE story_id = ?", [story_id]).rowcount
        back_to_review(db, story_id)
        audit.record(db, "system:restore", "story.names_to_decide_again", story_id, undone=undone)


def _tombstone(db: sqlite_utils.Database, entry: dict[str, Any]) -> None:
    """An erasure of a story the backup never held: keep its id from coming round again."""
    if not db.execute(
        "SELECT 1 FROM tombstones WHERE story_id = ? UNION SELECT 1 FROM stories WHERE id = ?",
        [entry["story_id"], entry["story_id"]],
    ).fetchone():
        db.execute(
            "INSERT INTO tombstones (story_id, story_uid, erased_at, actor) VALUES (?, ?, ?, ?)",
            [entry["story_id"], entry.get("story_uid"), entry["at"], entry["actor"]],
        )


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
    """Does the store already hold this change (a withdrawal perhaps overtaken since by fresh consent)?"""
    if entry.get("entry"):
        return journal.holds(db, entry["entry"])
    # An entry from before journal entries were named: go by time.
    events = list(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
    consent = current_consent(events)
    if consent is not None and consent.withdrawn:
        return True
    return any(e["kind"] == GIVEN and e["recorded_at"] > entry["at"] for e in events)


def _ids_issued(instance: Instance) -> int:
    """The highest story id this instance has handed out, as far as anything outside the backup shows."""
    found = [entry["story_id"] for entry in journal.entries(instance.root)]
    for path in [instance.store_path, *(instance.published_path(a) for a in PUBLISHED_AUDIENCES)]:
        found.append(_read_one(path, "SELECT max(id) FROM stories"))
    found.append(_read_one(instance.store_path, "SELECT seq FROM sqlite_sequence WHERE name = 'stories'"))
    return max((n for n in found if n is not None), default=0)


def _never_reuse_ids(db: sqlite_utils.Database, issued: int) -> None:
    """Move the story id sequence past `issued` and every tombstone (AUTOINCREMENT never goes back itself)."""
    with write_transaction(db):
        tombstoned = db.execute("SELECT max(story_id) FROM tombstones").fetchone()[0] or 0
        floor = max(issued, tombstoned)
        if db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'stories'", [floor]).rowcount == 0:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('stories', ?)", [floor])


def _read_one(path: Path, sql: str) -> int | None:
    """One number from a SQLite file, or None if the file is missing or unreadable (a damaged store is why we restore)."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute(sql).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None
