"""The instance as a whole: creating it, publishing it on request, and restoring a backup."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from stories.backup import restore
from stories.instance import Instance, init_instance, nothing_running
from stories.services.publishing import UseCase, follow


def create_instance(instance: Instance, *, actor: str) -> dict[str, int]:
    """Create the instance folder with an empty working store, and its (empty) published files."""
    init_instance(instance).close()
    return follow(instance, UseCase.PUBLISH, actor=actor)


def publish(instance: Instance, *, actor: str) -> dict[str, int]:
    """Rebuild the published files from the working store now; returns stories per audience."""
    return follow(instance, UseCase.PUBLISH, actor=actor)


@dataclasses.dataclass(frozen=True)
class Restored:
    redone: dict[str, int]  # withdrawals, erasures, narrowings and name reviews re-applied from the journal
    published: dict[str, int]


def restore_backup(instance: Instance, source: Path, *, actor: str) -> Restored:
    """Restore a backup, re-apply what was changed since that must not be undone, and republish before anything runs.

    Raises FileNotFoundError (not a backup) or InstanceBusy (something runs on the instance).
    """
    init_instance(instance).close()  # restoring onto a new machine needs the folders and a key
    with nothing_running(instance):  # until republished: the old files may hold stories told since
        redone = restore(instance, source)
        return Restored(redone, follow(instance, UseCase.PUBLISH, actor=actor))
