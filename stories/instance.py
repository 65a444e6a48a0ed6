"""Where an instance keeps its data, and how one is created and opened."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from stories.db import connect
from stories.migrations import migrate

DEFAULT_DIR = "instance"
ENV_VAR = "STORYBANK_INSTANCE"
LOCK_NAME = "running.lock"
RUNNING = (
    "Storybank is running on this instance (the app, a job worker or Datasette): stop `storybank serve`"
    " (and any `storybank web`, `worker` or `datasette` started on their own) first, then restore."
)
RESTORING = "A backup is being restored into this instance: start again once `storybank restore` has finished."


class InstanceBusy(RuntimeError):
    """The instance is in use in a way that forbids what was asked; the message says what to do."""


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

    @contextmanager
    def connection(self) -> Iterator[sqlite_utils.Database]:
        """The working store for one piece of work, closed however it ends (a connection left open holds the WAL)."""
        db = self.open()
        try:
            yield db
        finally:
            db.close()


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


# Every long-running process (app, worker, Datasette, serve) holds a shared lock on one file in
# the instance for its whole life; a restore needs it exclusively, so it cannot replace the store
# under a running process, and nothing starts while it runs. Kept open here for the process's life.
_held: dict[Path, list[int]] = {}
_exclusive: set[Path] = set()


def hold_while_running(instance: Instance, *, inheritable: bool = False) -> None:
    """Take this process's shared lock on the instance (pass `inheritable` before exec-ing another program)."""
    fd = _open_lock(instance)
    if fd is None:
        return  # a read-only instance folder (a Datasette replica): nothing can be restored into it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InstanceBusy(RESTORING) from None
    os.set_inheritable(fd, inheritable)
    _held.setdefault(instance.root, []).append(fd)


@contextmanager
def nothing_running(instance: Instance) -> Iterator[None]:
    """Hold the instance exclusively: no app, worker or Datasette runs on it, and none can start (re-entrant)."""
    if instance.root in _exclusive:
        yield
        return
    fd = _open_lock(instance)
    if fd is None:
        raise InstanceBusy(f"Cannot write a lock file in {instance.root}.")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InstanceBusy(RUNNING) from None
    _exclusive.add(instance.root)
    try:
        yield
    finally:
        _exclusive.discard(instance.root)
        os.close(fd)  # closing the only descriptor releases the lock


def _open_lock(instance: Instance) -> int | None:
    """The lock file, opened; None where it can be neither created nor read (no instance folder, a read-only one)."""
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(instance.root / LOCK_NAME, flags | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
    return None
