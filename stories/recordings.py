"""Recordings and their transcripts: the machine's words kept as provenance, a person's corrections as the story."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.db import write_transaction
from stories.text import clean
from stories.validation import Invalid

MAX_SEGMENT_TEXT = 5_000


@dataclasses.dataclass(frozen=True)
class Recording:
    """A stored recording, as a story holds it."""

    audio_file: str  # name under the instance's audio folder (its content hash)
    duration: float  # seconds
    codec: str


def add_recording(db: sqlite_utils.Database, story_id: int, *, audio_file: str, duration: float, codec: str, actor: str) -> int:
    recording_id = db.execute(
        "INSERT INTO recordings (story_id, audio_file, duration, codec, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)",
        [story_id, audio_file, duration, codec, actor, now_iso()],
    ).lastrowid
    audit.record(db, actor, "story.recording", story_id, seconds=round(duration, 1))
    return recording_id


def recording_for(db: sqlite_utils.Database, story_id: int) -> dict[str, Any] | None:
    """The story's recording (the latest, should it ever have had more than one)."""
    rows = list(db.query("SELECT * FROM recordings WHERE story_id = ? ORDER BY id DESC LIMIT 1", [story_id]))
    return rows[0] if rows else None


def latest_recordings(db: sqlite_utils.Database) -> dict[int, str]:
    """Every story's recording (its stored name), for building many stories at once."""
    latest = "SELECT story_id, audio_file FROM recordings WHERE id IN (SELECT max(id) FROM recordings GROUP BY story_id)"
    return dict(db.execute(latest))


def save_transcript(
    db: sqlite_utils.Database, story_id: int, recording_id: int, *, segments: list[dict[str, Any]], language: str, model: str
) -> int:
    """Store the machine's transcript; the story's text becomes it, marked as not yet reviewed."""
    cleaned = [{"start": float(s["start"]), "end": float(s["end"]), "text": clean(str(s["text"])).strip()} for s in segments]
    with write_transaction(db):
        transcript_id = db.execute(
            "INSERT INTO transcripts (story_id, recording_id, model, language, machine_segments, segments, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [story_id, recording_id, model, language, json.dumps(cleaned), json.dumps(cleaned), now_iso()],
        ).lastrowid
        _set_story_text(db, story_id, cleaned, reviewed=False)
        audit.record(db, "system:transcriber", "story.transcribed", story_id, model=model)
    return transcript_id


def get_transcript(db: sqlite_utils.Database, story_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM transcripts WHERE story_id = ? ORDER BY id DESC LIMIT 1", [story_id]))
    if not rows:
        return None
    transcript = rows[0]
    transcript["segments"] = json.loads(transcript["segments"])
    transcript["machine_segments"] = json.loads(transcript["machine_segments"])
    return transcript


def correct_transcript(db: sqlite_utils.Database, story_id: int, texts: list[str], *, actor: str, reviewed: bool) -> None:
    """Save a person's corrections (one text per segment, times unchanged), optionally marking it reviewed."""
    with write_transaction(db):
        transcript = get_transcript(db, story_id)
        if transcript is None:
            raise Invalid({"transcript": "This story has no transcript yet."})
        segments = transcript["segments"]
        if len(texts) != len(segments):
            raise Invalid({"transcript": "The transcript changed while you were editing it; please reload the page."})
        too_long = [n for n, text in enumerate(texts, start=1) if len(text) > MAX_SEGMENT_TEXT]
        if too_long:
            raise Invalid({f"segment-{too_long[0]}": f"Part {too_long[0]} is longer than {MAX_SEGMENT_TEXT:,} characters."})
        corrected = [{**segment, "text": " ".join(clean(text).split())} for segment, text in zip(segments, texts, strict=True)]
        if reviewed and not any(s["text"] for s in corrected):
            raise Invalid({"transcript": "The transcript is empty: there is nothing to mark as reviewed."})
        db.execute(
            "UPDATE transcripts SET segments = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ?",
            [json.dumps(corrected), actor if reviewed else None, now_iso() if reviewed else None, transcript["id"]],
        )
        _set_story_text(db, story_id, corrected, reviewed=reviewed)
        audit.record(db, actor, "story.transcript_reviewed" if reviewed else "story.transcript_corrected", story_id)


def _set_story_text(db: sqlite_utils.Database, story_id: int, segments: list[dict[str, Any]], *, reviewed: bool) -> None:
    # Joined with single spaces, so the tagger can map its evidence back to times in the recording.
    body = " ".join(s["text"] for s in segments if s["text"])
    db.execute(
        "UPDATE stories SET body = ?, text_reviewed = ?, updated_at = ? WHERE id = ?", [body, int(reviewed), now_iso(), story_id]
    )
