"""Where an instance keeps its data, and how one is created and opened."""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

import sqlite_utils

from stories.db import connect
from stories.migrations import migrate

DEFAULT_DIR = "instance"
ENV_VAR = "STORYBANK_INSTANCE"


@dataclasses.dataclass(frozen=True)
class Instance:
    """One Storybank installation's folder: the private working store and what is built from it."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def from_env(cls, path: str | Path | None = None) -> Instance:
        return cls(Path(path or os.environ.get(ENV_VAR) or DEFAULT_DIR).resolve())

    @property
    def store_path(self) -> Path:
        return self.root / "storybank.db"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    def published_path(self, audience: str) -> Path:
        return self.published_dir / f"{audience}.db"

    @property
    def audio_dir(self) -> Path:
        return self.root / "audio"

    @property
    def evidence_dir(self) -> Path:
        return self.root / "evidence"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def jobs_path(self) -> Path:
        return self.root / "jobs.db"

    @property
    def secret_key_path(self) -> Path:
        return self.root / "secret_key"

    @property
    def exists(self) -> bool:
        return self.store_path.exists()

    def secret_key(self) -> bytes:
        """The key that signs session cookies, shared by the app and Datasette."""
        return self.secret_key_path.read_bytes().strip()

    def open(self) -> sqlite_utils.Database:
        """Connect to the working store, applying any pending migrations."""
        if not self.exists:
            raise FileNotFoundError(f"No Storybank instance at {self.root}; run `storybank init` first.")
        db = connect(self.store_path)
        migrate(db)
        return db


def init_instance(instance: Instance) -> sqlite_utils.Database:
    """Create the instance folder, its secret key and an up-to-date working store (idempotent)."""
    for folder in (instance.root, instance.published_dir, instance.audio_dir, instance.evidence_dir, instance.exports_dir):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(instance.root, 0o700)
    if not instance.secret_key_path.exists():
        fd = os.open(instance.secret_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    db = connect(instance.store_path)
    migrate(db)
    return db
