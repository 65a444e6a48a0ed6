"""Reliability under concurrency and crashes: many writers, kill -9 while writing or publishing, a worker killed mid-job.

The figures (elapsed, stories/s, kills) are printed, never asserted: run with `-s` to see them.
Killed processes are real processes killed with SIGKILL; what a power cut does to the disk is not simulated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from audio import STORIES, speak

from conftest import sign_off, story_form, wait_for
from pipelines.audio import probe_audio
from pipelines.jobs import queue_for, request_transcription
from pipelines.publish import TEMP_SUFFIX, run_publish
from stories.clock import now
from stories.consent import PUBLISHED_AUDIENCES
from stories.db import write_transaction
from stories.job_status import STALE_AFTER, get_job, jobs_to_recover
from stories.recordings import add_recording, get_transcript
from stories.records import record_story
from stories.sqlite import sqlite3

SCRIPTS = Path(__file__).parent / "fault_scripts"
WRITERS, STORIES_EACH = 16, 200
KILLS_WHILE_WRITING, KILLS_WHILE_PUBLISHING = 50, 50
PUBLISHED_STORIES = 600  # enough that one publish takes a few tenths of a second, so kills land inside it
SEED = int(os.environ.get("STORYBANK_FAULT_SEED", time.time_ns() % 1_000_000))  # printed, to replay a failure


@pytest.fixture
def form_file(tmp_path) -> Path:
    """A valid story form for the scripts, from the same source as every other test's."""
    path = tmp_path / "form.json"
    path.write_text(json.dumps(story_form()))
    return path


def integrity(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


# --- many writers -----------------------------------------------------------------------------


def test_16_concurrent_writers_lose_no_story_and_see_no_error(instance, db, orgs, processes, form_file):
    writers = [
        processes(
            [sys.executable, SCRIPTS / "submit_stories.py", instance.root, form_file, orgs["a"], f"w{n}", STORIES_EACH],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    for writer in writers:  # every connection open before any writing: they really do overlap
        assert writer.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    results = [json.loads(writer.communicate(timeout=120)[0]) for writer in writers]
    elapsed = time.perf_counter() - started

    errors = sum((Counter(result["errors"]) for result in results), Counter())
    total = WRITERS * STORIES_EACH
    print(
        f"\n{WRITERS} writers x {STORIES_EACH} stories (WAL, BEGIN IMMEDIATE): {sum(r['ok'] for r in results)} recorded "
        f"in {elapsed:.1f} s = {total / elapsed:.0f} stories/s; slowest writer {max(r['seconds'] for r in results):.1f} s; "
        f"errors {sum(errors.values())} {dict(errors) or ''}"
    )
    assert errors == Counter()
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == total
    assert db.execute("SELECT count(*) FROM consent_events WHERE kind = 'given'").fetchone()[0] == total
    titles = {row[0] for row in db.execute("SELECT title FROM stories")}
    assert titles == {f"w{n}-{i}" for n in range(WRITERS) for i in range(STORIES_EACH)}


# --- kill -9 ----------------------------------------------------------------------------------


class Crashes:
    """Children forked by fault_scripts/crash_target.py on request, each killed with SIGKILL."""

    def __init__(self, launcher: subprocess.Popen) -> None:
        self.launcher = launcher

    def _ask(self, command: str) -> int:
        self.launcher.stdin.write(command + "\n")
        self.launcher.stdin.flush()
        return int(self.launcher.stdout.readline())

    def start(self, command: str) -> int:
        return self._ask(command)

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        # Reaped only now, so the pid was still this child's; and it did not die of anything else first.
        assert self._ask(f"reap {pid}") == signal.SIGKILL, f"child {pid} had died before the kill"


@pytest.fixture
def crashes(instance, orgs, processes, form_file) -> Crashes:
    launcher = processes(
        [sys.executable, SCRIPTS / "crash_target.py", instance.root, form_file, orgs["a"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Crashes(launcher)


def read_lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_kill_9_while_writing_never_loses_an_acknowledged_story(instance, crashes, tmp_path):
    rng = random.Random(SEED)
    acknowledged: set[int] = set()
    unacknowledged_but_kept = 0
    for kill in range(KILLS_WHILE_WRITING):
        ack_file = tmp_path / f"acknowledged-{kill}"
        pid = crashes.start(f"write {ack_file}")
        time.sleep(rng.uniform(0, 0.25))  # from opening the store to a few dozen stories in
        crashes.kill(pid)
        acknowledged |= {int(story_id) for story_id in read_lines(ack_file)}

        db = instance.open()  # recovers the WAL a killed writer left behind
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"corrupt after kill {kill}"
            assert list(db.execute("PRAGMA foreign_key_check")) == []
            stored = {row[0] for row in db.execute("SELECT id FROM stories")}
            assert acknowledged <= stored, f"acknowledged but lost after kill {kill}: {sorted(acknowledged - stored)}"
            # A story and its consent are one transaction: a kill can never leave a story without consent.
            orphans = db.execute("SELECT count(*) FROM stories WHERE id NOT IN (SELECT story_id FROM consent_events)")
            assert orphans.fetchone()[0] == 0
            unacknowledged_but_kept = len(stored - acknowledged)  # committed, killed before it could say so: fine
        finally:
            db.close()
    print(
        f"\nkill -9 while writing (seed {SEED}): {KILLS_WHILE_WRITING} kills, {len(acknowledged)} stories acknowledged, "
        f"corrupt 0, acknowledged-but-lost 0, committed-but-unacknowledged {unacknowledged_but_kept}"
    )


def fill_for_publishing(db, organisation_id: int, today: dt.date, signed_form) -> None:
    """Signed-off stories, half of them with a consent review date between the two publishing dates."""
    with write_transaction(db):
        for n in range(PUBLISHED_STORIES):
            review_on = today + dt.timedelta(days=100 if n % 2 else 400)
            form = story_form(
                title=f"Published {n}", identity_level="named", review_on=review_on.isoformat(), evidence_file=signed_form("test")
            )
            story_id = record_story(db, form, organisation_id=organisation_id, actor="test", today=today)
            sign_off(db, story_id, None)


def published_ids(instance, audience: str) -> frozenset[int]:
    with sqlite3.connect(f"file:{instance.published_path(audience)}?mode=ro", uri=True) as conn:
        return frozenset(row[0] for row in conn.execute("SELECT id FROM stories"))


def test_kill_9_while_publishing_leaves_the_complete_old_or_new_file(instance, db, orgs, crashes, tmp_path, signed_form):
    # Publishing on two dates gives two different complete files: every story, or only those still in review.
    dates = {"A": dt.date.today(), "B": dt.date.today() + dt.timedelta(days=200)}
    fill_for_publishing(db, orgs["a"], dates["A"], signed_form)
    complete = {}
    for label in ("B", "A"):
        run_publish(instance, today=dates[label])
        complete[label] = {audience: published_ids(instance, audience) for audience in PUBLISHED_AUDIENCES}
    assert complete["A"] != complete["B"]

    rng = random.Random(SEED)
    state = {audience: "A" for audience in PUBLISHED_AUDIENCES}
    kept, swapped, mid_build, publishes = 0, 0, 0, 0
    for kill in range(KILLS_WHILE_PUBLISHING):
        ack_file = tmp_path / f"published-{kill}"
        new = "B" if state["public"] == "A" else "A"  # the child's first run replaces what is there now
        old = "A" if new == "B" else "B"
        pid = crashes.start(f"publish {ack_file} {dates[new]} {dates[old]}")
        time.sleep(rng.uniform(0, 0.8))
        crashes.kill(pid)
        finished = read_lines(ack_file)
        publishes += len(finished)

        for audience in PUBLISHED_AUDIENCES:
            assert integrity(instance.published_path(audience)) == "ok", f"{audience} file corrupt after kill {kill}"
            ids = published_ids(instance, audience)
            now_holds = next((label for label in complete if complete[label][audience] == ids), None)
            assert now_holds, f"{audience} file after kill {kill} is no complete publish ({len(ids)} stories)"
            kept += now_holds == state[audience]
            swapped += now_holds != state[audience]
            state[audience] = now_holds
        leftovers = list(instance.published_dir.glob(f".*{TEMP_SUFFIX}"))
        mid_build += bool(leftovers)
        if finished:  # the child ran run_publish to the end at least once: earlier kills' temp files are gone
            assert all(f".{pid}." in leftover.name for leftover in leftovers), leftovers
        assert integrity(instance.store_path) == "ok"  # publishing writes the audit log and stored versions

    run_publish(instance, today=dates["A"])
    assert list(instance.published_dir.glob(f".*{TEMP_SUFFIX}")) == []
    print(
        f"\nkill -9 while publishing {PUBLISHED_STORIES} stories (seed {SEED}): {KILLS_WHILE_PUBLISHING} kills, "
        f"{publishes} publishes completed between them, {mid_build} kills left a half-built temp file; after each kill "
        f"each file was the complete old one {kept} times and the complete new one {swapped} times, corrupt 0, "
        f"neither 0; stale temp files after the next run 0"
    )


# --- a transcription worker killed mid-job ----------------------------------------------------


@pytest.fixture
def real_queue(instance, monkeypatch):
    """The real SqliteHuey queue in the instance's jobs.db, as `storybank worker` reads it (not jobs run inline)."""
    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")
    queue_for.cache_clear()
    yield queue_for(instance.root)
    queue_for.cache_clear()


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory) -> Path:
    """About a minute of speech: 7-8 s of work for a worker on 2 cores, so a kill lands mid-job."""
    return speak(STORIES["mens_shed"], tmp_path_factory.mktemp("speech"), "mens-shed")


def pending_jobs(queue) -> list[tuple[str, tuple]]:
    """Job tasks waiting in the queue (a worker also queues its periodic tasks there as it starts)."""
    return [(task.name, task.args) for task in queue.huey.pending() if task.args]


def test_a_transcription_worker_killed_mid_job_is_retried_and_completes(instance, db, orgs, real_queue, processes, long_speech):
    shutil.copy(long_speech, instance.audio_dir / long_speech.name)
    info = probe_audio(long_speech)
    with write_transaction(db):
        story_id = record_story(db, story_form(body=""), organisation_id=orgs["a"], actor="test", source="audio")
        add_recording(db, story_id, audio_file=long_speech.name, duration=info.duration, codec=info.codec, actor="test")
    job_id = request_transcription(instance, story_id)
    worker = [sys.executable, "-m", "stories.cli", "worker"]
    env = {**os.environ, "STORYBANK_INSTANCE": str(instance.root)}

    first = processes(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: get_job(db, job_id)["status"] == "running", 60, "the first worker to start the job")
    time.sleep(1.0)  # into the model load and decoding; running to done takes 7-8 s here
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert get_job(db, job_id)["status"] == "running" and get_transcript(db, story_id) is None  # killed mid-job
    assert pending_jobs(real_queue) == []  # huey dropped the task when the dead worker took it

    # Stand-in for a silent worker on another machine: its last heartbeat, made older than STALE_AFTER.
    silent_since = (now() - STALE_AFTER - dt.timedelta(seconds=5)).isoformat(timespec="seconds")
    db.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", [silent_since, job_id])
    assert [job["id"] for job in jobs_to_recover(db, worker_gone=lambda claimant: False)] == [job_id]

    # No help from the test from here: a worker's scheduler runs recover_lost_jobs as it starts, then every minute.
    started = time.perf_counter()
    processes(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: get_job(db, job_id)["status"] in ("done", "failed"), 120, "the second worker to finish the job")
    job = get_job(db, job_id)
    print(
        f"\nworker killed mid-transcription of {info.duration:.0f} s of speech: job re-queued by recovery, finished "
        f"by a new worker in {time.perf_counter() - started:.1f} s, status {job['status']}, attempts {job['attempts']}"
    )
    assert job["status"] == "done" and job["attempts"] == 2
    transcript = get_transcript(db, story_id)
    assert "shed" in " ".join(segment["text"] for segment in transcript["segments"]).lower()
