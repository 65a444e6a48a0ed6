"""Uploaded files that no story claims: tracked, swept after a stated time, and never invisible to check-no-trace."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from audio import tone
from click.testing import CliRunner

from conftest import SIGNED_FORM, story_form
from stories.cli import cli


def stored(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def check_no_trace(instance, *texts):
    return CliRunner().invoke(cli, ["check-no-trace", *texts, "--instance", str(instance.root)])


def test_a_recording_sent_back_with_the_form_is_seen_then_swept(client, auth, instance, monkeypatch):
    from stories import clock

    auth.login("worker")
    form = story_form(title="", body="", method="written", evidence_time="")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    form["evidence_upload"] = (io.BytesIO(SIGNED_FORM), "signed.pdf")
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 422  # the title is missing: nothing saved, the uploads kept for the next try
    assert len(stored(instance.audio_dir)) == 1 and len(stored(instance.evidence_dir)) == 1

    result = check_no_trace(instance, "Margaret")
    assert result.exit_code == 1, result.output  # a recording cannot be scanned for words: it must be named
    assert f"audio/{stored(instance.audio_dir)[0]}" in result.output
    assert f"evidence/{stored(instance.evidence_dir)[0]}" in result.output
    assert "no story has claimed" in result.output

    later = clock.now() + dt.timedelta(hours=25)
    monkeypatch.setattr(clock, "now", lambda: later)
    _run_periodic(instance, "sweep_unclaimed_uploads")
    assert stored(instance.audio_dir) == [] and stored(instance.evidence_dir) == []
    assert check_no_trace(instance, "Margaret").exit_code == 0
    db = instance.open()
    try:  # nor is what the swept form showed remembered
        assert db.execute("SELECT count(*) FROM form_fingerprints").fetchone()[0] == 0
    finally:
        db.close()


@pytest.mark.whisper  # the recording is transcribed as it is saved
def test_the_sweep_keeps_what_a_story_claimed_and_what_is_still_fresh(client, auth, instance, db, monkeypatch):
    from stories import clock

    auth.login("worker")
    form = story_form(body="", method="written", evidence_time="")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    assert client.post("/stories/new", data=form, content_type="multipart/form-data").status_code == 302
    fresh = story_form(title="", body="")
    fresh["recording"] = (io.BytesIO(tone(4.0)), "other.wav")
    assert client.post("/stories/new", data=fresh, content_type="multipart/form-data").status_code == 422
    claimed = db.execute("SELECT audio_file FROM recordings").fetchone()[0]
    assert len(stored(instance.audio_dir)) == 2

    _run_periodic(instance, "sweep_unclaimed_uploads")  # nothing is old enough yet
    assert len(stored(instance.audio_dir)) == 2
    later = clock.now() + dt.timedelta(hours=25)
    monkeypatch.setattr(clock, "now", lambda: later)
    _run_periodic(instance, "sweep_unclaimed_uploads")
    assert stored(instance.audio_dir) == [claimed]


@pytest.mark.whisper  # the recording is transcribed as it is saved
def test_a_kept_recording_can_still_be_used_when_the_form_comes_back(client, auth, instance, db):
    auth.login("worker")
    form = story_form(title="", body="", method="written", evidence_time="")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    text = client.post("/stories/new", data=form, content_type="multipart/form-data").get_data(as_text=True)
    kept = text.split('name="recording_file" value="')[1].split('"')[0]
    again = story_form(body="", method="written", evidence_time="", recording_file=kept)
    assert client.post("/stories/new", data=again).status_code == 302
    assert db.execute("SELECT audio_file FROM recordings").fetchone()[0] == kept
    assert check_no_trace(instance, "nothing-here").exit_code == 0  # claimed: a story refers to it now


def test_another_users_kept_recording_cannot_be_claimed_by_its_name(client, auth, instance, db):
    auth.login("worker")
    form = story_form(title="", body="")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    text = client.post("/stories/new", data=form, content_type="multipart/form-data").get_data(as_text=True)
    kept = text.split('name="recording_file" value="')[1].split('"')[0]
    auth.logout()
    auth.login("worker_b")
    response = client.post("/stories/new", data=story_form(body="", recording_file=kept))
    assert response.status_code == 422
    assert "please choose the file again" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM recordings").fetchone()[0] == 0


def _run_periodic(instance, name: str) -> None:
    """Run one of the worker's periodic tasks now, as the worker's scheduler would."""
    from pipelines.jobs import queue_for

    tasks = [task for task in queue_for(instance.root).huey._registry.periodic_tasks if task.name == name]
    assert tasks, f"the worker has no periodic task {name!r}"
    tasks[0].execute()


@pytest.mark.whisper  # the recording is transcribed as it is saved
def test_an_erasure_takes_the_recording_away_even_when_it_was_uploaded_again(client, auth, instance, db):
    """5f: recording R of story 68 re-uploaded in a form that failed; erasing 68 left R, claimable by its name."""
    auth.login("worker")
    form = story_form(body="", method="written", evidence_time="")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    story_id = int(response.headers["Location"].rsplit("/", 1)[1])
    again = story_form(title="", body="")
    again["recording"] = (io.BytesIO(tone()), "story.wav")  # the same bytes, in a form sent back
    assert client.post("/stories/new", data=again, content_type="multipart/form-data").status_code == 422
    [recording] = stored(instance.audio_dir)  # its name, as the earlier form showed it

    response = client.post(f"/stories/{story_id}/withdraw", data={"scope": "erase", "reason": "Storyteller asked"})
    assert response.status_code == 302
    assert stored(instance.audio_dir) == []
    result = check_no_trace(instance, "Margaret Holt")
    assert result.exit_code == 0, result.output

    response = client.post("/stories/new", data=story_form(title="From the erased recording", body="", recording_file=recording))
    assert response.status_code == 422
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 0


@pytest.mark.whisper  # the recording is transcribed as it is saved
def test_a_recording_belongs_to_one_story(client, auth, instance, db):
    auth.login("worker")
    for title in ("First telling", "Second story, same recording"):
        form = story_form(title=title, body="", method="written", evidence_time="")
        form["recording"] = (io.BytesIO(tone()), "story.wav")
        response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "already another story" in text and 'value="Second story, same recording"' in text
    assert db.execute("SELECT count(*) FROM recordings").fetchone()[0] == 1


def over_limit_form(megabytes: float) -> dict:
    """Every field of the story form typed, and a recording of this size chosen, as a browser sends it."""
    form = story_form(
        title="Tuesdays at the lunch club", body="", storyteller_reference="BF-0413", witness="Priya Shah, coordinator"
    )
    form["recording"] = (io.BytesIO(b"\0" * int(megabytes * 1024 * 1024)), "long-interview.wav")
    form["evidence_upload"] = (io.BytesIO(SIGNED_FORM), "signed.pdf")
    return form


def test_a_recording_over_the_limit_brings_the_form_back_with_everything_typed_and_the_limit_by_the_field(
    client, auth, instance, monkeypatch
):
    """Issue 13: 210 MB gave a bare "Too large" page and lost the title, the consent and the signed form.

    Here the limit is 1 MB and the file 3 MB, past the app's ceiling for a form without a file too."""
    monkeypatch.setenv("STORYBANK_MAX_AUDIO_MB", "1")
    auth.login("worker")
    page = client.get("/stories/new").get_data(as_text=True)
    assert re.search(r'<p class="hint" id="recording-hint">[^<]*at most 1 MB', page)  # the limit, by the field
    assert 'data-max-bytes="1048576"' in page  # for the browser to check before sending

    response = client.post("/stories/new", data=over_limit_form(3), content_type="multipart/form-data")
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    error = re.search(r'<p class="field-error" id="recording-error">(.*?)</p>', text, re.S)[1]
    assert "This recording is 3 MB; a recording can be at most 1 MB." in error
    for typed in ('value="Tuesdays at the lunch club"', 'value="BF-0413"', 'value="Priya Shah, coordinator"'):
        assert typed in text
    assert re.search(r'<input type="radio" id="given_by-1" name="given_by" value="storyteller" checked', text)
    assert "A form is already attached to this story" in text  # the signed form was kept
    assert stored(instance.audio_dir) == []  # nothing of the refused recording is kept


def test_only_a_logged_in_persons_form_with_a_file_may_be_large(client, instance):
    big = {"username": "x" * (3 * 1024 * 1024), "password": "y"}
    assert client.post("/auth/login", data=big).status_code == 413
    response = client.post("/stories/new", data=over_limit_form(3), content_type="multipart/form-data")
    assert response.status_code in (302, 413)  # to the login page, or refused unread where CSRF reads the form
    assert stored(instance.audio_dir) == [] and stored(instance.evidence_dir) == []
