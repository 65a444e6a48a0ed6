"""Files sent with a form (a recording, a signed consent form): stored at once, so a form sent back keeps them."""

from __future__ import annotations

import dataclasses
from typing import Any, BinaryIO

import sqlite_utils

from stories.auth import User
from stories.evidence import MAX_EVIDENCE_BYTES, keep_form
from stories.instance import Instance


@dataclasses.dataclass(frozen=True)
class Upload:
    """A file a person sent: its bytes, and how many were sent where that was counted (more than is kept of a large one)."""

    stream: BinaryIO
    received: int | None = None


def attach_consent_form(
    instance: Instance, db: sqlite_utils.Database, form: dict[str, Any], upload: Upload | None, *, by: User
) -> None:
    """Store an uploaded signed consent form now, so a rejected form need not be uploaded twice.

    A form named by the page (kept from an earlier attempt, or the story's own) is checked by the
    domain when the consent is saved: it must be this user's upload or already the story's.
    """
    if upload is None:
        return
    # Read no more than one byte past the limit: enough to refuse a file that is too large.
    data = upload.stream.read(MAX_EVIDENCE_BYTES + 1)
    form["evidence_file"] = keep_form(db, instance.evidence_dir, data, by.actor, received=upload.received)


def forget_refused_files(form: dict[str, Any], problems: dict[str, str]) -> None:
    """A file the form was refused for must not come back as "already attached"."""
    for field, kept in (("recording", "recording_file"), ("evidence_file", "evidence_file")):
        if field in problems:
            form[kept] = ""
