"""Scale-out without code changes: two job workers on one Redis share the queue and lose no job.

Starts Debian's redis-server on 127.0.0.1 (a free port, nothing saved to disk) and two
`storybank worker` processes with STORYBANK_REDIS_URL set; run with `-s` to see the split.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from conftest import story_form, wait_for
from pipelines.jobs import IMMEDIATE_ENV, REDIS_ENV, queue_for, request_tagging
from stories.job_status import get_job
from stories.records import record_story

SCRIPTS = Path(__file__).parent / "fault_scripts"
JOBS = 40

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="Debian's redis-server is not installed (`make system` installs it)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(processes, tmp_path) -> str:
    port = free_port()
    processes(
        ["redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", tmp_path],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)

    def answers() -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    wait_for(answers, 10, "redis-server to answer")
    client.close()
    return f"redis://127.0.0.1:{port}/0"


def waiting_on_queue(url: str) -> int:
    """Clients blocked reading the queue: each idle huey worker waits in BRPOP."""
    with redis.Redis.from_url(url) as client:
        return sum(1 for c in client.client_list() if c["cmd"] in ("brpop", "brpoplpush", "blmove"))


def test_two_workers_on_redis_share_the_jobs_and_lose_none(instance, db, orgs, processes, redis_url, monkeypatch, tmp_path):
    monkeypatch.setenv(REDIS_ENV, redis_url)
    monkeypatch.setenv(IMMEDIATE_ENV, "0")
    queue_for.cache_clear()  # this process enqueues to Redis too
    env = {**os.environ, "STORYBANK_INSTANCE": str(instance.root)}
    workers = []
    for n in range(2):
        with (tmp_path / f"worker-{n}.log").open("w") as log:  # tracebacks, should a worker fail
            workers.append(
                processes(
                    [sys.executable, SCRIPTS / "observed_worker.py"], env=env, stdout=subprocess.PIPE, stderr=log, text=True
                )
            )
    try:
        queue = queue_for(instance.root)

        def both_idle() -> bool:  # each has run the periodic tasks it queues as it starts, and waits for more
            return queue.huey.pending_count() == 0 and waiting_on_queue(redis_url) >= 2

        wait_for(both_idle, 60, "both workers to wait on the Redis queue")
        story_ids = [
            record_story(db, story_form(title=f"Shared {n}"), organisation_id=orgs["a"], actor="test") for n in range(JOBS)
        ]
        started = time.perf_counter()
        job_ids = [request_tagging(instance, story_id) for story_id in story_ids]
        wait_for(lambda: all(get_job(db, job_id)["status"] in ("done", "failed") for job_id in job_ids), 90, "every job")
        elapsed = time.perf_counter() - started
        queue_left = queue.huey.pending_count()
    finally:
        queue_for.cache_clear()
    for worker in workers:
        worker.send_signal(signal.SIGTERM)  # huey finishes the task in hand, then stops; its lines are then all out
    ran = [line.split() for worker in workers for line in worker.communicate(timeout=30)[0].splitlines()]

    per_worker = Counter(pid for pid, _, _ in ran)
    runs_per_job = Counter(int(job_id) for _, _, job_id in ran)
    jobs = [get_job(db, job_id) for job_id in job_ids]
    split = " / ".join(f"worker {pid} ran {n}" for pid, n in per_worker.items())
    print(
        f"\n{JOBS} tagging jobs through Redis in {elapsed:.1f} s: {split}; done {sum(j['status'] == 'done' for j in jobs)}, "
        f"lost {JOBS - len(runs_per_job)}, run twice {sum(n > 1 for n in runs_per_job.values())}, queued {queue_left}"
    )
    assert all(job["status"] == "done" and job["attempts"] == 1 for job in jobs)
    assert runs_per_job == Counter(job_ids)  # every job delivered to exactly one worker, once
    assert len(per_worker) == 2 and all(n > 0 for n in per_worker.values())  # both did a share
    assert queue_left == 0
