"""Backups: a consistent online copy of the working store and its files, and restoring one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from stories.clock import now
from stories.db import connect
from stories.instance import Instance
from stories.withdrawal import reapply_journal

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

    Stop the app and worker first: the store is replaced underneath them.
    """
    if not (source / STORE_NAME).is_file():
        raise FileNotFoundError(f"{source} is not a Storybank backup (no {STORE_NAME}).")
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
        return reapply_journal(db, instance.root, files=[instance.evidence_dir, instance.audio_dir])
    finally:
        db.close()
