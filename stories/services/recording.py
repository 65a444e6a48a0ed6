"""Recording a story: typed, told aloud (recorded or uploaded) or imported, with the consent given for it."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import sqlite_utils

from pipelines.audio import AudioError
from pipelines.jobs import request_tagging, request_transcription
from pipelines.recording import Limits, accept_recording, stored_recording
from stories import records
from stories.auth import User
from stories.importer import import_stories as import_rows
from stories.instance import Instance
from stories.recordings import Recording
from stories.services.publishing import UseCase, follow
from stories.services.uploads import Upload, attach_consent_form, forget_refused_files
from stories.stored_files import AUDIO, register_upload
from stories.validation import Invalid, Problems


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

    with closing(init_instance(instance)) as db:
        added = load(db, instance.evidence_dir, instance.audio_dir, suggest=evidence)
    return added, follow(instance, UseCase.PUBLISH, actor="demo")
