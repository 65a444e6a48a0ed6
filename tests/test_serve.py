"""`storybank serve` as a user runs it: one process killed takes nothing else down, and it comes back.

A real `storybank serve` on free ports; its children (app, job worker, Datasette) are found
through /proc and killed with SIGKILL one at a time while the others are asked over HTTP.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from audio import STORIES, speak
from browser_helpers import free_port, storybank_command

from conftest import PASSWORD, story_form, wait_for
from pipelines.audio import probe_audio
from pipelines.jobs import queue_for, request_transcription
from pipelines.publish import run_publish
from stories.db import write_transaction
from stories.job_status import SILENT_AFTER, get_job
from stories.recordings import add_recording
from stories.records import approve_story, decide_name, record_story
from stories.sqlite import sqlite3
from stories.withdrawal import withdraw

CHILDREN = ("app", "worker", "datasette")
START = 60.0  # seconds for serve (three Python processes) to come up on a busy 2-core machine


class Serve:
    """A running `storybank serve`, its console output, and what it is serving."""

    def __init__(self, processes, instance, tmp_path: Path) -> None:  # noqa: ANN001
        self.app, self.data = free_port(), free_port()
        self.console = tmp_path / "serve.log"
        env = {k: v for k, v in os.environ.items() if k not in ("STORYBANK_JOBS_IMMEDIATE", "STORYBANK_REDIS_URL")}
        env.update(STORYBANK_INSTANCE=str(instance.root), PYTHONUNBUFFERED="1", ORT_DISABLE_TELEMETRY="1")
        with self.console.open("wb") as sink:
            self.process = processes(
                [*storybank_command(), "serve", "--port", self.app, "--datasette-port", self.data],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def children(self) -> dict[str, int]:
        """The pid of each child, named by what it runs."""
        found = {}
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        for pid in path.read_text().split() if path.exists() else []:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue  # exited just now
            words = {part.decode() for part in command}
            name = "datasette" if "datasette" in words else "app" if "web" in words else "worker" if "worker" in words else None
            if name:
                found[name] = int(pid)
        return found

    def answers(self, name: str) -> bool:
        url = {"app": f"http://127.0.0.1:{self.app}/auth/login", "datasette": f"http://127.0.0.1:{self.data}/public.json"}[name]
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def back(self, name: str, killed: int) -> bool:
        """Is there a new process for this child, answering if it answers HTTP?"""
        pid = self.children().get(name)
        return pid is not None and pid != killed and (name == "worker" or self.answers(name))

    def story_shown(self, story_id: int) -> bool:
        url = f"http://127.0.0.1:{self.data}/public/stories/{story_id}.json"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return bool(json.load(response).get("rows"))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return False
            raise

    def wait_until_up(self) -> None:
        wait_for(
            lambda: self.process.poll() is None and all(map(self.answers, ("app", "datasette"))) and len(self.children()) == 3,
            START,
            f"serve to start; it said:\n{self.output}",
        )

    def log_in(self, username: str) -> urllib.request.OpenerDirector:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        url = f"http://127.0.0.1:{self.app}/auth/login"
        page = opener.open(url, timeout=10).read().decode()
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        opener.open(url, data=urllib.parse.urlencode({"csrf_token": token, "username": username, "password": PASSWORD}).encode())
        return opener


@pytest.fixture
def published_story(instance, db, orgs, users, signed_form) -> int:
    story_id = record_story(db, story_form(evidence_file=signed_form()), organisation_id=orgs["a"], actor="t")
    decide_name(db, story_id, "Priya", "keep", actor="t")
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    run_publish(instance)
    return story_id


def test_a_killed_child_is_restarted_and_the_others_keep_answering(instance, published_story, processes, tmp_path):
    serve = Serve(processes, instance, tmp_path)
    serve.wait_until_up()
    back_after = {}
    for name in CHILDREN:
        before = serve.children()
        os.kill(before[name], signal.SIGKILL)
        killed = time.monotonic()
        others = [other for other in ("app", "datasette") if other != name]
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # the others answer all along, not only once it is back
            assert all(serve.answers(other) for other in others), f"killing the {name} took others down:\n{serve.output}"
            time.sleep(0.2)
        came_back = functools.partial(serve.back, name, before[name])
        wait_for(came_back, START, f"the {name} to come back; serve said:\n{serve.output}")
        back_after[name] = time.monotonic() - killed
        assert serve.process.poll() is None
        assert f"The {name} process stopped (killed by signal 9); starting it again" in serve.output
        assert {other: pid for other, pid in serve.children().items() if other != name} == {
            other: pid for other, pid in before.items() if other != name
        }
    assert serve.story_shown(published_story)
    print("\nkill -9 of each child of storybank serve; the others answered throughout; back (answering) after: ")
    print(", ".join(f"{name} {seconds:.1f} s" for name, seconds in back_after.items()))

    children = list(serve.children().values())
    serve.process.send_signal(signal.SIGTERM)  # what Ctrl-C does too
    assert serve.process.wait(timeout=30) == 0, serve.output
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_a_withdrawal_cut_short_by_a_killed_app_is_finished_as_the_app_restarts(
    instance, db, published_story, processes, tmp_path
):
    # Found from outside: kill -9 of the app 0.3 s after a withdraw form was sent left the story in
    # Datasette for 20-50 s, until the worker's minute-by-minute catch-up.
    inode = instance.published_path("public").stat().st_ino
    serve = Serve(processes, instance, tmp_path)
    serve.wait_until_up()
    assert serve.story_shown(published_story)
    # Let serve's own rebuild finish first: a rebuild running at the kill would take the story out
    # itself, and this test is about serve finishing it when nothing else would.
    wait_for(lambda: instance.published_path("public").stat().st_ino != inode, START, "serve's background rebuild")
    withdraw(db, published_story, actor="t", reason="Asked by phone")  # committed; then the app died before the files
    os.kill(serve.children()["app"], signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: not serve.story_shown(published_story), 10, f"the withdrawal to be finished; serve said:\n{serve.output}")
    print(f"\nwithdrawal cut short by kill -9 of the app: gone from Datasette {time.monotonic() - killed:.1f} s after the kill")
    assert not _in_published_files(instance, published_story)
    # Serve finishes it, at the app's death or at its twice-a-second look for removals nobody is at work on.


def test_serve_serves_the_files_it_has_at_once_and_rebuilds_behind_them(instance, db, published_story, processes, tmp_path):
    path = instance.published_path("public")
    inode = path.stat().st_ino
    serve = Serve(processes, instance, tmp_path)
    wait_for(lambda: serve.answers("datasette"), START, f"Datasette to answer; serve said:\n{serve.output}")
    assert serve.story_shown(published_story)
    # serve itself published nothing: it served the files it had, and left the rebuild to the worker.
    assert db.execute("SELECT count(*) FROM audit_log WHERE actor = 'serve'").fetchone()[0] == 0
    wait_for(lambda: path.stat().st_ino != inode, START, "the worker's background rebuild")


def test_serve_rebuilds_a_lapsed_file_before_serving_it(instance, db, orgs, users, processes, tmp_path, signed_form):
    today = dt.date.today()
    lapsed = story_form(
        given_on=(today - dt.timedelta(days=40)).isoformat(),
        told_on=(today - dt.timedelta(days=40)).isoformat(),
        review_on=(today - dt.timedelta(days=1)).isoformat(),
        evidence_file=signed_form(),
    )
    story_id = record_story(db, lapsed, organisation_id=orgs["a"], actor="t", today=today - dt.timedelta(days=40))
    decide_name(db, story_id, "Priya", "keep", actor="t")
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    run_publish(instance, today=today - dt.timedelta(days=5))  # published while its consent was in force
    with sqlite3.connect(instance.published_path("public")) as conn:
        assert conn.execute("SELECT id FROM stories").fetchall() == [(story_id,)]

    serve = Serve(processes, instance, tmp_path)
    wait_for(lambda: serve.answers("datasette"), START, f"Datasette to answer; serve said:\n{serve.output}")
    assert not serve.story_shown(story_id)  # never served, not even for a moment


@pytest.fixture
def long_speech(tmp_path_factory) -> Path:
    return speak(STORIES["mens_shed"], tmp_path_factory.mktemp("speech"), "mens-shed")


def test_a_transcription_cut_short_by_a_killed_worker_says_so_and_runs_again(
    instance, db, orgs, users, processes, tmp_path, long_speech, monkeypatch
):
    serve = Serve(processes, instance, tmp_path)
    serve.wait_until_up()
    shutil.copy(long_speech, instance.audio_dir / long_speech.name)
    info = probe_audio(long_speech)
    with write_transaction(db):
        story_id = record_story(db, story_form(body=""), organisation_id=orgs["a"], actor="t", source="audio")
        add_recording(db, story_id, audio_file=long_speech.name, duration=info.duration, codec=info.codec, actor="t")
    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")
    queue_for.cache_clear()
    try:
        job_id = request_transcription(instance, story_id)
    finally:
        queue_for.cache_clear()
    wait_for(lambda: get_job(db, job_id)["status"] == "running", START, "the worker to start transcribing")
    time.sleep(1.0)
    os.kill(serve.children()["worker"], signal.SIGKILL)
    killed = time.monotonic()

    worker = serve.log_in("worker")
    status_url = f"http://127.0.0.1:{serve.app}/stories/{story_id}/status.json"

    said = []

    def said_interrupted() -> bool:
        """The page stops showing the dead attempt: it says it was cut short, queued or running again."""
        said.append(json.load(worker.open(status_url, timeout=10))["transcribe"]["message"])
        return "Interrupted" in said[-1] or "after an interruption" in said[-1]

    # Within seconds once serve has started a new worker; within SILENT_AFTER even if none comes.
    wait_for(said_interrupted, SILENT_AFTER.total_seconds() + 10, f"the page to say it was interrupted; it said {set(said)}")
    print(f"\nworker killed mid-transcription: the story page said {said[-1]!r} after {time.monotonic() - killed:.1f} s")
    wait_for(lambda: get_job(db, job_id)["status"] in ("done", "failed"), 120, "the transcription to run again")
    job = get_job(db, job_id)
    assert job["status"] == "done" and job["attempts"] == 2
    print(f"and it was done, on its second attempt, {time.monotonic() - killed:.1f} s after the kill")


def _in_published_files(instance, story_id: int) -> list[str]:
    """The published files that hold this story now, read as bytes on disk are (no Datasette in between)."""
    holding = []
    for audience in ("public", "commissioners"):
        with sqlite3.connect(f"file:{instance.published_path(audience)}?mode=ro", uri=True) as conn:
            if conn.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone():
                holding.append(audience)
    return holding


def test_a_withdrawal_cut_short_by_a_killed_withdraw_command_is_finished_within_2_s(
    instance, db, orgs, users, signed_form, processes, tmp_path
):
    # Found from outside: `storybank withdraw` killed with SIGKILL once its removal was in the store
    # left the story in both files, served by Datasette, for 8.5-58 s (the worker's minute). A CLI
    # is not serve's child, so nothing noticed it die.
    story_ids = []
    for n in range(6):
        form = story_form(title=f"Story {n}", evidence_file=signed_form())
        story_ids.append(record_story(db, form, organisation_id=orgs["a"], actor="t"))
        decide_name(db, story_ids[-1], "Priya", "keep", actor="t")
        approve_story(db, story_ids[-1], actor="t", user_id=users["reviewer"])
    run_publish(instance)
    serve = Serve(processes, instance, tmp_path)
    serve.wait_until_up()
    env = {k: v for k, v in os.environ.items() if k not in ("STORYBANK_JOBS_IMMEDIATE", "STORYBANK_REDIS_URL")}
    env["STORYBANK_INSTANCE"] = str(instance.root)
    gone_after = []
    for story_id in story_ids:
        if len(gone_after) == 3:
            break
        assert serve.story_shown(story_id) and _in_published_files(instance, story_id) == ["public", "commissioners"]
        withdrawing = processes([*storybank_command(), "withdraw", story_id, "--reason", "x"], env=env, stdout=subprocess.DEVNULL)
        store = sqlite3.connect(instance.store_path)
        while not store.execute("SELECT 1 FROM publication_removals WHERE story_id = ?", [story_id]).fetchone():
            assert withdrawing.poll() is None, "the withdraw command ended before its removal was seen"
            time.sleep(0.002)
        os.kill(withdrawing.pid, signal.SIGKILL)
        killed = time.monotonic()
        store.close()
        withdrawing.wait()
        if not _in_published_files(instance, story_id):
            continue  # it finished before the kill landed: nothing was cut short, so try the next story
        wait_for(
            lambda story_id=story_id: not serve.story_shown(story_id) and not _in_published_files(instance, story_id),
            10,
            f"story {story_id} to leave the published files; serve said:\n{serve.output}",
        )
        gone_after.append(time.monotonic() - killed)
    assert len(gone_after) == 3, "the kill never landed mid-withdrawal"
    figures = ", ".join(f"{seconds:.2f} s" for seconds in gone_after)
    print(f"\n`storybank withdraw` killed mid-way: gone from both files and Datasette after {figures}")
    assert max(gone_after) < 2.0, gone_after
