"""Recording a story: typed, told aloud (recorded or uploaded) or imported, with the consent given for it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, BinaryIO

import sqlite_utils

from pipelines.audio import AudioError
from pipelines.jobs import request_tagging, request_transcription
from pipelines.recording import Limits, accept_recording, stored_recording
from stories import records
from stories.auth import User
from stories.evidence import MAX_EVIDENCE_BYTES, store_evidence
from stories.importer import import_stories as import_rows
from stories.instance import Instance
from stories.recordings import Recording
from stories.services.publishing import UseCase, follow
from stories.stored_files import AUDIO, EVIDENCE, register_upload
from stories.validation import Invalid, Problems


@dataclasses.dataclass(frozen=True)
class Upload:
    """A file a person sent: its bytes, and how many were sent where that was counted (more than is kept of a large one)."""

    stream: BinaryIO
    received: int | None = None


def recording_limits() -> Limits:
    """How large and how long a recording may be (STORYBANK_MAX_AUDIO_MB, STORYBANK_MAX_AUDIO_MINUTES)."""
    return Limits.from_env()


def record_story(
    instance: Instance,
    db: sqlite_utils.Database,
    form: dict[str, Any],
    *,
    by: User,
    recording: Upload | None = None,
    consent_form: Upload | None = None,
) -> int:
    """Save a typed or recorded story with its consent, then queue its transcription or its tagging; returns its id.

    Invalid lists every problem at once. Files are stored before the story is checked, and `form`
    is updated to name them, so a form sent back keeps them and they need not be uploaded again;
    a file refused is dropped from it.
    """
    problems = Problems()
    stored = None
    try:
        if recording is not None:
            stored = accept_recording(instance.audio_dir, recording.stream, recording_limits(), recording.received)
            register_upload(db, AUDIO, stored.audio_file, by.actor)
        elif form.get("recording_file"):
            # Accepted with an earlier attempt at this form: no need to upload it again.
            stored = stored_recording(instance.audio_dir, form["recording_file"], recording_limits())
    except AudioError as error:
        problems.add("recording", str(error))
        form["recording_file"] = ""
    if stored:
        form["recording_file"] = stored.audio_file
    source = "audio" if stored or "recording" in problems.found else "text"
    try:
        attach_consent_form(instance, db, form, consent_form, by=by)
    except Invalid as error:
        for field, message in error.problems.items():
            problems.add(field, message)
    try:
        story_id = records.record_story(
            db,
            form,
            organisation_id=by.organisation_id,
            actor=by.actor,
            user_id=by.id,
            source=source,
            recording=Recording(stored.audio_file, stored.info.duration, stored.info.codec) if stored else None,
            problems=problems,
        )
    except Invalid as error:
        forget_refused_files(form, error.problems)
        raise
    if stored:
        request_transcription(instance, story_id)
    else:
        request_tagging(instance, story_id)
    follow(instance, UseCase.RECORD, [story_id], actor=by.actor)
    return story_id


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
    form["evidence_file"] = store_evidence(instance.evidence_dir, data, received=upload.received)
    register_upload(db, EVIDENCE, form["evidence_file"], by.actor)


def forget_refused_files(form: dict[str, Any], problems: dict[str, str]) -> None:
    """A file the form was refused for must not come back as "already attached"."""
    for field, kept in (("recording", "recording_file"), ("evidence_file", "evidence_file")):
        if field in problems:
            form[kept] = ""


def import_stories(instance: Instance, db: sqlite_utils.Database, path: Path, *, organisation_id: int, actor: str) -> int:
    """Import stories with their consent from a CSV or JSONL file: every row, or none; returns how many."""
    count = import_rows(db, path, organisation_id=organisation_id, actor=actor, evidence_dir=instance.evidence_dir)
    follow(instance, UseCase.RECORD, actor=actor)
    return count


def load_demo(instance: Instance) -> tuple[dict[str, int], dict[str, int]]:
    """Load the demo organisations, users, interventions and stories, then publish; returns what was added and published."""
    from pipelines.tag import tag_text
    from stories.demo import load_demo as load
    from stories.instance import init_instance

    def evidence(body: str) -> dict[str, tuple[int, int]]:
        return {s.domain: (s.start, s.end) for s in tag_text(body)}

    db = init_instance(instance)
    try:
        added = load(db, instance.evidence_dir, instance.audio_dir, suggest=evidence)
    finally:
        db.close()
    return added, follow(instance, UseCase.PUBLISH, actor="demo")
