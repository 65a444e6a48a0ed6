"""After any change to a story, no published file goes on showing it in words the store no longer allows.

Found from the outside: a transcript corrected after sign-off sent the story back for review, yet
its signed-off text stayed in the public file for minutes, until an unrelated rebuild. Jobs are
queued here and no worker runs, so only the change itself can have taken the words out.
"""

from __future__ import annotations

import pytest

from conftest import add_tag, sign_off, story_form
from pipelines.jobs import queue_for
from pipelines.publish import run_publish
from stories.recordings import add_recording, correct_transcript, save_transcript
from stories.records import record_story
from stories.sqlite import sqlite3

SAID = "My name is Margaret Holt. Priya rings every Tuesday and I go to the lunch club now."


@pytest.fixture
def queued_jobs(instance, monkeypatch):
    """Rebuilds asked for wait in the real queue (no worker runs in these tests)."""
    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")
    queue_for.cache_clear()
    yield queue_for(instance.root)
    queue_for.cache_clear()


@pytest.fixture
def told_aloud(instance, db, orgs, users, signed_form):
    """A story told aloud, its transcript reviewed, signed off and in both published files."""
    form = story_form(identity_level="named", storyteller_names="Margaret Holt", body="", evidence_file=signed_form())
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="t", source="audio")
    audio = instance.audio_dir / ("1" * 64 + ".webm")
    audio.write_bytes(b"not played in this test")
    recording = add_recording(db, story_id, audio_file=audio.name, duration=9.0, codec="opus", actor="t")
    save_transcript(db, story_id, recording, segments=[{"start": 0, "end": 9, "text": SAID}], language="en", model="t")
    correct_transcript(db, story_id, [SAID], actor="t", reviewed=True)
    sign_off(db, story_id, users["reviewer"])
    run_publish(instance)
    assert public_body(instance, story_id) == SAID
    return story_id


def public_body(instance, story_id: int) -> str | None:
    with sqlite3.connect(f"file:{instance.published_path('public')}?immutable=1", uri=True) as conn:
        row = conn.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()
    return row[0] if row else None


def test_a_transcript_corrected_after_sign_off_leaves_the_public_file_at_once(client, auth, instance, told_aloud, queued_jobs):
    auth.login("worker")
    corrected = SAID.replace("lunch club", "lunch club at the Aireside centre")
    response = client.post(f"/stories/{told_aloud}/transcript", data={"segment": [corrected], "action": "save"})
    assert response.status_code == 302
    assert public_body(instance, told_aloud) is None  # back for review: out of the file before the page comes back


def test_a_name_replaced_after_publication_is_gone_from_the_public_file_at_once(client, auth, instance, told_aloud, queued_jobs):
    auth.login("reviewer")
    response = client.post(f"/stories/{told_aloud}/names", data={"name-Priya": "redact", "name-Priya-placeholder": "[my friend]"})
    assert response.status_code == 302
    assert "Priya" not in (public_body(instance, told_aloud) or "")
    run_publish(instance)  # the queued rebuild puts the story back, as now decided
    assert public_body(instance, told_aloud) == SAID.replace("Priya", "[my friend]")


def test_a_contribution_statement_added_after_sign_off_leaves_the_public_file_at_once(
    client, auth, db, instance, told_aloud, queued_jobs
):
    tag_id = add_tag(db, told_aloud, evidence="I go to the lunch club now")
    run_publish(instance)
    assert public_body(instance, told_aloud) == SAID
    auth.login("worker")
    statement = {"contribution": "inherent", "contribution_statement": "Dave Pickersgill at 14 Elm Street got me to ring"}
    response = client.post(f"/stories/{told_aloud}/outcomes/{tag_id}/link", data=statement)
    assert response.status_code == 302
    assert public_body(instance, told_aloud) is None


def test_a_change_that_shows_nothing_new_leaves_the_published_story_alone(client, auth, instance, told_aloud, queued_jobs):
    before = instance.published_path("public").stat().st_ino
    auth.login("reviewer")
    response = client.post(f"/stories/{told_aloud}/names", data={"name-Priya": "keep"})  # the decision it already had
    assert response.status_code == 302
    assert instance.published_path("public").stat().st_ino == before  # no copy made: nothing to take out
    assert public_body(instance, told_aloud) == SAID
