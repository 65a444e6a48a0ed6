"""The demo instance: organisations, interventions, a user for every role and stories to explore."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import random
import struct
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml

from stories import audit
from stories.assurance import record_member_check, record_second_person
from stories.auth import add_user
from stories.clock import now_iso
from stories.clock import today as utc_today
from stories.commitments import add_commitment, list_commitments
from stories.consent import VERBAL, WITHDRAWN
from stories.db import write_transaction
from stories.evidence import keep_form
from stories.interventions import add_intervention, intervention_id_by_slug
from stories.organisations import ensure_organisation, get_organisation
from stories.outcome_tags import save_confirmed_tag
from stories.recordings import Recording, correct_transcript, recording_for, save_transcript
from stories.records import add_consent_event, approve_story, record_story
from stories.stored_files import AUDIO, register_upload

DEMO_FILE = Path(__file__).with_name("demo_data.yml")
DEMO_PASSWORD = "storybank-demo"  # only ever set by `storybank demo`; real accounts choose their own
ACTOR = "demo"
Suggest = Callable[[str], dict[str, tuple[int, int]]]
RECORDING_SECONDS = 30  # long enough to hold the moment of verbal consent, 0:12


def demo_usernames() -> set[str]:
    return {user["username"] for user in yaml.safe_load(DEMO_FILE.read_text())["users"]}


def load_demo(
    db: sqlite_utils.Database,
    evidence_dir: Path,
    audio_dir: Path,
    today: dt.date | None = None,
    suggest: Suggest | None = None,
) -> dict[str, int]:
    """Load the demo data (skipping anything already there); returns what was added.

    `suggest` finds each outcome's evidence in a story ({domain: (start, end)}), so the demo's
    confirmed tags point at the storyteller's words as a worker's would. Every consent has real
    evidence: a signed form on file, or (for verbal consent) a moment in the story's recording,
    so the stories given verbal consent are told aloud, with a reviewed transcript.
    """
    today = today or utc_today()
    data = yaml.safe_load(DEMO_FILE.read_text())
    added = {"organisations": 0, "users": 0, "interventions": 0, "commitments": 0, "stories": 0}
    for org in data["organisations"]:
        if get_organisation(db, org["slug"]) is None:
            added["organisations"] += 1
        ensure_organisation(db, org["name"], slug=org["slug"], kind=org["kind"], area=org.get("area", ""))
    users = {}
    for user in data["users"]:
        users[user["username"]] = user
        org_id = get_organisation(db, user["organisation"])["id"]
        if not db.execute("SELECT 1 FROM users WHERE username = ?", [user["username"]]).fetchone():
            add_user(
                db,
                username=user["username"],
                display_name=user["display_name"],
                password=DEMO_PASSWORD,
                role=user["role"],
                organisation_id=org_id,
                actor=ACTOR,
                check_strength=False,  # the demo's one shared password, for the demo only
            )
            added["users"] += 1
    for item in data["interventions"]:
        if intervention_id_by_slug(db, item["slug"]) is None:
            provider_id = get_organisation(db, item["provider"])["id"]
            add_intervention(db, item, provider_id=provider_id, actor=ACTOR, slug=item["slug"])
            added["interventions"] += 1
    for item in data.get("commitments", []):
        intervention_id = intervention_id_by_slug(db, item["intervention"])
        if not any(c["outcome"] == item["outcome"] for c in list_commitments(db, intervention_id)):
            add_commitment(db, intervention_id, item, actor=ACTOR)
            added["commitments"] += 1
    for position, story in enumerate(data["stories"]):
        if _load_story(db, story, users, (evidence_dir, audio_dir), today, position, suggest):
            added["stories"] += 1
    return added


def _load_story(
    db: sqlite_utils.Database,
    story: Mapping[str, Any],  # an entry of demo_data.yml: a story to write, not one read
    users: dict[str, Any],
    folders: tuple[Path, Path],
    today: dt.date,
    position: int,
    suggest: Suggest | None,
) -> bool:
    org_id = get_organisation(db, story["organisation"])["id"]
    exists = db.execute(
        "SELECT 1 FROM stories JOIN storytellers ON storytellers.id = storyteller_id"
        " WHERE stories.organisation_id = ? AND storytellers.reference = ? AND title = ?",
        [org_id, story["storyteller_reference"], story["title"]],
    ).fetchone()
    if exists:
        return False
    consent = story["consent"]
    given_on = today - dt.timedelta(days=consent["given_days_ago"])
    fields = {
        **{k: story[k] for k in ("title", "body", "storyteller_reference", "storyteller_names", "interventions")},
        **{
            k: consent[k]
            for k in ("given_by", "age_band", "witness", "method", "info_sheet_version", "audiences", "identity_level")
        },
        "special_category": consent["special_category"],
        "told_on": today - dt.timedelta(days=story["told_days_ago"]),
        "given_on": given_on,
        "review_on": today + dt.timedelta(days=consent["review_in_days"]),
    }
    evidence_dir, audio_dir = folders
    told_aloud = consent["method"] == VERBAL
    author = users[story["recorded_by"]]
    actor = f"user:{author['username']}"
    # Each storyteller signs their own form, and each story told aloud has its own recording.
    recording = _store_demo_recording(audio_dir, seed=position) if told_aloud else None
    if recording:
        fields["evidence_time"] = "0:12"
        register_upload(db, AUDIO, recording.audio_file, actor)
    else:
        fields["evidence_file"] = keep_form(
            db, evidence_dir, stand_in_form(f"Demo consent form of storyteller {story['storyteller_reference']}"), actor
        )
    user_id = db.execute("SELECT id FROM users WHERE username = ?", [author["username"]]).fetchone()[0]
    with write_transaction(db):
        story_id = record_story(
            db,
            fields,
            organisation_id=org_id,
            actor=actor,
            user_id=user_id,
            status="draft" if story["status"] == "draft" else "submitted",
            today=today,
            recording=recording,
        )
        body = _reviewed_transcript(db, story_id, story["body"], actor) if told_aloud else story["body"]
        if story["status"] == "approved":
            reviewer = db.execute(
                "SELECT id, username, display_name FROM users WHERE role = 'reviewer' AND organisation_id = ? ORDER BY id",
                [org_id],
            ).fetchone()
            approve_story(db, story_id, actor=f"user:{reviewer[1]}", user_id=reviewer[0])
        for other in story.get("other_names") or []:
            db.execute(
                "INSERT INTO name_decisions (story_id, name, decision, placeholder, decided_by, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    story_id,
                    other["name"],
                    "keep" if other.get("keep") else "redact",
                    other.get("placeholder") or "",
                    ACTOR,
                    now_iso(),
                ],
            )
        spans = suggest(body) if suggest else {}
        for domain, direction in (story.get("outcomes") or {}).items():
            save_confirmed_tag(db, story_id, domain, direction, spans.get(domain, (None, None)), body, version="demo")
        if story["status"] == "approved":
            _verify(db, story_id, position, reviewer, today)
        if story.get("withdrawn"):
            add_consent_event(db, story_id, WITHDRAWN, ACTOR, reason=story["withdrawn"]["reason"])
        audit.record(db, ACTOR, "demo.story", story_id)
    return True


def _verify(db: sqlite_utils.Database, story_id: int, position: int, reviewer: tuple[int, str, str], today: dt.date) -> None:
    """Most signed-off demo stories were read back to their storyteller; every other one also checked by a reviewer."""
    checked_on = {"verified_on": (today - dt.timedelta(days=7)).isoformat()}
    if position % 4 != 3:
        record_member_check(
            db,
            story_id,
            {**checked_on, "method": "read_back"},
            actor=ACTOR,
            user_id=None,
            recorded_by="the worker who recorded it",
        )
    if position % 2 == 0:
        record_second_person(
            db,
            story_id,
            {**checked_on, "note": "Checked against the service's case notes"},
            actor=f"user:{reviewer[1]}",
            user_id=reviewer[0],
            verifier=reviewer[2],
        )


def _reviewed_transcript(db: sqlite_utils.Database, story_id: int, text: str, actor: str) -> str:
    """The story's words as the transcript of its recording, one part per paragraph, reviewed; returns the text."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    step = RECORDING_SECONDS / len(paragraphs)
    segments = [{"start": n * step, "end": (n + 1) * step, "text": p} for n, p in enumerate(paragraphs)]
    save_transcript(db, story_id, recording_for(db, story_id)["id"], segments=segments, language="en", model="demo")
    correct_transcript(db, story_id, paragraphs, actor=actor, reviewed=True)
    return " ".join(paragraphs)


def _store_demo_recording(audio_dir: Path, seed: int) -> Recording:
    """A quiet room, standing in for a recorded story as the demo PDF stands in for a signed form."""
    rate, noise = 8000, random.Random(seed)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"".join(struct.pack("<h", noise.randint(-300, 300)) for _ in range(RECORDING_SECONDS * rate)))
    data = out.getvalue()
    name = f"{hashlib.sha256(data).hexdigest()}.wav"  # stored by content, as every recording is
    audio_dir.mkdir(parents=True, exist_ok=True)
    if not (audio_dir / name).exists():
        (audio_dir / f".{name}.partial").write_bytes(data)
        os.replace(audio_dir / f".{name}.partial", audio_dir / name)
    return Recording(audio_file=name, duration=float(RECORDING_SECONDS), codec="pcm_s16le")


def stand_in_form(note: str = "Demo consent form - stands in for a signed, scanned form") -> bytes:
    """A one-page PDF with `note` on it, standing in for a scanned, signed consent form (the demo's, the tests')."""
    text = "(" + note.replace("\\", "").replace("(", "[").replace(")", "]") + ") Tj"
    stream = f"BT /F1 14 Tf 60 760 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
