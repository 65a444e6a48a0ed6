"""Backups: a consistent online copy of the working store and its files, and restoring one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import sqlite_utils

from stories.clock import now
from stories.consent import PUBLISHED_AUDIENCES
from stories.db import connect, write_transaction
from stories.instance import Instance
from stories.sqlite import sqlite3
from stories.stored_files import remove_unreferenced
from stories.withdrawal import journal_entries, reapply_journal

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
    backup does not hold are deleted. Stop the app and worker first (the store is replaced
    underneath them), and republish after (the published files may hold stories told since).
    """
    if not (source / STORE_NAME).is_file():
        raise FileNotFoundError(f"{source} is not a Storybank backup (no {STORE_NAME}).")
    issued = _ids_issued(instance)
    temp = instance.store_path.with_suffix(".restoring")
    shutil.copyfile(source / STORE_NAME, temp)
    for leftover in (instance.store_path.with_name(STORE_NAME + "-wal"), instance.store_path.with_name(STORE_NAME + "-shm")):
        leftover.unlink(missing_ok=True)  # a WAL from the old store must never be applied to the backup
    os.replace(temp, instance.store_path)
    for folder in FILE_FOLDERS:
        if (source / folder).exists():
            shutil.copytree(source / folder, instance.root / folder, dirs_exist_ok=True)
    db = instance.open()
    try:
        redone = reapply_journal(db, instance.root, files=[instance.evidence_dir, instance.audio_dir])
        _never_reuse_ids(db, issued)
        remove_unreferenced(db, instance.root)
        return redone
    finally:
        db.close()


def _ids_issued(instance: Instance) -> int:
    """The highest story id this instance has handed out, as far as anything outside the backup shows."""
    found = [entry["story_id"] for entry in journal_entries(instance.root)]
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
