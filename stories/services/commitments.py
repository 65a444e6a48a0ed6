"""What a contract promised: entered on an intervention's page or imported from CSV; the files follow in a rebuild."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlite_utils

from stories import commitments
from stories.instance import Instance
from stories.services.publishing import UseCase, follow


def add_commitment(
    instance: Instance, db: sqlite_utils.Database, intervention_id: int, data: Mapping[str, Any], *, actor: str
) -> int:
    commitment_id = commitments.add_commitment(db, intervention_id, data, actor=actor)
    follow(instance, UseCase.CHANGE_COMMITMENTS, actor=actor)
    return commitment_id


def update_commitment(
    instance: Instance, db: sqlite_utils.Database, commitment_id: int, data: Mapping[str, Any], *, actor: str
) -> None:
    commitments.update_commitment(db, commitment_id, data, actor=actor)
    follow(instance, UseCase.CHANGE_COMMITMENTS, actor=actor)


def delete_commitment(instance: Instance, db: sqlite_utils.Database, commitment_id: int, *, actor: str) -> None:
    commitments.delete_commitment(db, commitment_id, actor=actor)
    follow(instance, UseCase.CHANGE_COMMITMENTS, actor=actor)


def import_commitments(instance: Instance, db: sqlite_utils.Database, content: bytes, *, organisation_id: int, actor: str) -> int:
    """Every row or none (stories.commitments.import_commitments); a rebuild is queued only when something was saved."""
    count = commitments.import_commitments(db, content, organisation_id=organisation_id, actor=actor)
    follow(instance, UseCase.CHANGE_COMMITMENTS, actor=actor)
    return count
