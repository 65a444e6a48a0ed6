"""Stories told aloud: upload or record, transcribe in the background, review, and on as a typed story."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import pytest
from audio import speak

from conftest import story_form
from pipelines.audio import probe_audio
from pipelines.publish import run_publish
from stories.job_status import latest_jobs
from stories.records import list_stories
from stories.sqlite import sqlite3

SPOKEN = (
    "The lunch club changed everything for me. I was lonely after my husband died. "
    "Now I have friends to talk to every week and I feel like myself again."
)


@pytest.fixture(scope="module")
def spoken_webm(tmp_path_factory):
    """A short spoken story, as a browser's MediaRecorder would send it (webm/opus, no duration header)."""
    return speak(SPOKEN, tmp_path_factory.mktemp("speech"), "story", fmt="webm").read_bytes()


def heard(data: bytes):  # noqa: ANN201
    """What a player finds in these bytes (probe_audio's description of them)."""
    import tempfile

    with tempfile.NamedTemporaryFile() as file:
        file.write(data)
        file.flush()
        return probe_audio(file.name)


def recorded_form(audio: bytes, name: str = "recording.webm", **fields):
    form = story_form(body="", **fields)
    form["recording"] = (io.BytesIO(audio), name)
    return form


def post_recording(client, audio, **fields):
    return client.post("/stories/new", data=recorded_form(audio, **fields), content_type="multipart/form-data")


def test_a_recorded_story_is_transcribed_reviewed_and_published(client, auth, instance, db, orgs, spoken_webm):
    auth.login("reviewer")
    response = post_recording(client, spoken_webm, identity_level="named", method="verbal_recording", evidence_time="0:01")
    assert response.status_code == 302, response.get_data(as_text=True)
    story_id = int(response.headers["Location"].rsplit("/", 1)[1])

    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "Transcribed." in page and "Check and correct the transcript" in page
    assert client.get(f"/stories/{story_id}/status.json").get_json()["transcribe"]["status"] == "done"
    audio = client.get(f"/stories/{story_id}/audio")
    assert audio.status_code == 200 and heard(audio.data).duration == pytest.approx(heard(spoken_webm).duration, abs=0.05)

    editor = client.get(f"/stories/{story_id}/transcript").get_data(as_text=True)
    assert "lunch club" in editor.lower()
    texts = re.findall(r'<textarea [^>]*name="segment"[^>]*>(.*?)</textarea>', editor, re.S)
    texts[0] = "The lunch club at St Mark's changed everything for me."
    client.post(f"/stories/{story_id}/approve")  # refused: the transcript is not reviewed yet
    run_publish(instance)
    with sqlite3.connect(instance.published_path("public")) as conn:
        assert conn.execute("SELECT count(*) FROM stories").fetchone()[0] == 0

    response = client.post(f"/stories/{story_id}/transcript", data={"segment": texts, "action": "reviewed"})
    assert response.status_code == 302
    jobs = latest_jobs(db, story_id)
    assert jobs["tag"]["status"] == "done"  # tagging ran by itself once the transcript was reviewed
    assert db.execute("SELECT count(*) FROM outcome_tags WHERE story_id = ?", [story_id]).fetchone()[0] > 0

    client.post(f"/stories/{story_id}/approve")
    run_publish(instance)
    with sqlite3.connect(instance.published_path("public")) as conn:
        body, told_as = conn.execute("SELECT body, told_as FROM stories").fetchone()
    assert "St Mark's" in body and told_as == "recorded"


def test_a_file_that_is_not_audio_is_refused_and_the_typed_fields_stay(client, auth, db, orgs):
    auth.login("worker")
    response = post_recording(
        client, b"%PDF-1.4 this is a consent form, not a recording", name="story.mp3", title="Told in the kitchen"
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "not audio we can read" in text and "it looks like a PDF" in text
    assert 'value="Told in the kitchen"' in text and 'value="BF-0012"' in text
    assert list_stories(db, orgs["a"]) == []


def test_a_recording_survives_a_form_sent_back_for_a_missing_field(client, auth, db, orgs, spoken_webm):
    auth.login("worker")
    response = post_recording(client, spoken_webm, witness="")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "A recording is already attached" in text
    kept = text.split('name="recording_file" value="')[1].split('"')[0]
    response = client.post("/stories/new", data=story_form(body="", recording_file=kept))
    assert response.status_code == 302
    assert db.execute("SELECT source FROM stories").fetchone()[0] == "audio"


def test_a_recording_over_the_length_limit_says_so(client, auth, monkeypatch, spoken_webm):
    monkeypatch.setenv("STORYBANK_MAX_AUDIO_MINUTES", "0.05")  # three seconds
    auth.login("worker")
    response = post_recording(client, spoken_webm)
    assert response.status_code == 422
    assert "the limit is" in response.get_data(as_text=True)


def test_another_organisation_cannot_hear_the_recording(client, auth, spoken_webm):
    auth.login("worker")
    story_id = post_recording(client, spoken_webm).headers["Location"].rsplit("/", 1)[1]
    auth.logout()
    auth.login("worker_b")
    assert client.get(f"/stories/{story_id}/audio").status_code == 404
    assert client.get(f"/stories/{story_id}/status.json").status_code == 404


def test_a_failed_transcription_shows_why_and_can_be_retried(client, auth, instance, db, monkeypatch, spoken_webm):
    from pipelines import transcribe

    def broken(*args, **kwargs):
        raise transcribe.TranscriptionError("No Whisper model at /nowhere.")

    monkeypatch.setattr(transcribe, "transcribe", broken)
    auth.login("worker")
    story_id = int(post_recording(client, spoken_webm).headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "Transcription failed: No Whisper model at /nowhere." in page
    job_id = latest_jobs(db, story_id)["transcribe"]["id"]
    monkeypatch.undo()
    client.post(f"/stories/{story_id}/jobs/{job_id}/retry")
    assert latest_jobs(db, story_id)["transcribe"]["status"] == "done"


def test_an_upload_waits_for_the_worker_and_is_transcribed_when_it_starts(client, auth, instance, db, monkeypatch, spoken_webm):
    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")  # the real queue, in the instance's jobs.db
    from pipelines.jobs import queue_for

    queue_for.cache_clear()
    auth.login("worker")
    story_id = int(post_recording(client, spoken_webm).headers["Location"].rsplit("/", 1)[1])
    assert latest_jobs(db, story_id)["transcribe"]["status"] == "queued"
    assert "Waiting for the transcriber" in client.get(f"/stories/{story_id}").get_data(as_text=True)

    env = {**os.environ, "STORYBANK_INSTANCE": str(instance.root)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "stories.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and latest_jobs(db, story_id)["transcribe"]["status"] != "done":
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        queue_for.cache_clear()
    assert latest_jobs(db, story_id)["transcribe"]["status"] == "done"
    assert "lunch club" in db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()[0].lower()


def test_the_moment_of_verbal_consent_is_marked_in_the_recording(client, auth, db, spoken_webm):
    from stories.records import get_story

    auth.login("worker")
    story_id = int(post_recording(client, spoken_webm, method="verbal_recording").headers["Location"].rsplit("/", 1)[1])
    editor = client.get(f"/stories/{story_id}/transcript").get_data(as_text=True)
    assert "Consent is given here" in editor
    start = float(editor.split('name="time" value="')[2].split('"')[0])  # the second part
    client.post(f"/stories/{story_id}/transcript/consent-time", data={"time": start})
    consent = get_story(db, story_id).consent
    recording = db.execute("SELECT audio_file FROM recordings WHERE story_id = ?", [story_id]).fetchone()[0]
    assert consent.evidence_time == round(start, 1) and consent.evidence_recording == recording
    response = client.post(f"/stories/{story_id}/transcript/consent-time", data={"time": "9999"}, follow_redirects=True)
    assert "within the recording" in response.get_data(as_text=True)


@pytest.mark.whisper  # the recording is transcribed as it is saved
@pytest.mark.parametrize("fmt, codec", [("flac", "flac"), ("mp3", "libmp3lame"), ("m4a", "aac")])
def test_cover_art_inside_a_recording_is_never_kept_only_the_sound(client, auth, db, tmp_path, fmt, codec):
    """6b: mp3, FLAC or m4a with an embedded JPEG was stored and served with the picture inside."""
    import av

    voice = speak(SPOKEN, tmp_path, "voice")
    face = tmp_path / "face.jpg"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", str(face)],
        check=True,
    )
    cover = tmp_path / f"cover.{fmt}"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(voice), "-i", str(face), "-map", "0:a", "-map", "1:v"]
        + ["-c:a", codec, "-c:v", "copy", "-disposition:v", "attached_pic", "-metadata", "title=Interview with Margaret Holt"]
        + [str(cover)],
        check=True,
    )
    uploaded = cover.read_bytes()
    picture = face.read_bytes()
    assert picture[200:400] in uploaded  # the attacker's file: the face is inside

    auth.login("worker")
    response = post_recording(client, uploaded, name=cover.name)
    assert response.status_code == 302, response.get_data(as_text=True)
    story_id = int(response.headers["Location"].rsplit("/", 1)[1])
    served = client.get(f"/stories/{story_id}/audio").data
    assert picture[200:400] not in served, "the picture is inside the recording served"
    assert b"Margaret Holt" not in served, "the file's title tag is inside the recording served"
    with av.open(io.BytesIO(served)) as container:
        assert [stream.type for stream in container.streams] == ["audio"]
    assert heard(served).duration == pytest.approx(heard(uploaded).duration, abs=0.05)
    assert "lunch club" in client.get(f"/stories/{story_id}/transcript").get_data(as_text=True).lower()


def test_the_transcript_page_has_a_plain_title_and_each_id_once(client, auth, spoken_webm):
    """Issue 13: the <title> held the hidden consent-time forms (with a CSRF token) and consent-time-1 twice."""
    auth.login("worker")
    response = post_recording(client, spoken_webm, title="The walking group", method="verbal_recording", evidence_time="0:01")
    story_id = int(response.headers["Location"].rsplit("/", 1)[1])
    editor = client.get(f"/stories/{story_id}/transcript").get_data(as_text=True)
    assert "Consent is given here" in editor  # the forms that once leaked are on the page
    assert re.search(r"<title>(.*?)</title>", editor, re.S)[1] == "Transcript: The walking group · Storybank"
    ids = re.findall(r'\sid="([^"]+)"', editor)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
