"""The job queue: huey on a SQLite file in the instance, or Redis when STORYBANK_REDIS_URL is set.

Queues are built per instance on first use (never at import), and tasks close over their
instance, so a task's arguments are only ids. Jobs wait in the queue while no worker runs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper

from stories import job_status
from stories.clock import today
from stories.db import checkpoint
from stories.instance import Instance

REDIS_ENV = "STORYBANK_REDIS_URL"
IMMEDIATE_ENV = "STORYBANK_JOBS_IMMEDIATE"  # run jobs inline, for tests and one-off scripts
# Workers run background work at a lower CPU priority, so that on a busy machine the app, Datasette
# and a withdrawal's fast path come first: a full rebuild gives way to a withdrawal instead of sharing.
WORKER_NICENESS = 10

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Queue:
    huey: Huey
    publish: TaskWrapper
    publish_changes: TaskWrapper
    transcribe: TaskWrapper
    tag: TaskWrapper
    republish_lapsed_consents: TaskWrapper
    recover_lost_jobs: TaskWrapper


@functools.cache
def queue_for(root: Path) -> Queue:
    instance = Instance(root)
    huey = _make_huey(instance)

    @huey.task(retries=3, retry_delay=5)
    def publish(asked_at: float | None = None) -> dict[str, int]:
        from pipelines.publish import run_publish

        counts = run_publish(instance, asked_at=asked_at)
        log.info("published %s", counts or "nothing: a rebuild since it was asked for has done it")
        return counts

    @huey.task(retries=3, retry_delay=5)
    def publish_changes(story_ids: list[int]) -> dict[str, int]:
        from pipelines.publish import publish_changes

        counts = publish_changes(instance, story_ids)
        log.info("published changes to %s: %s", story_ids, counts)
        return counts

    @huey.task()
    def transcribe(job_id: int) -> None:
        from pipelines.runs import run_transcription

        run_transcription(instance, job_id)

    @huey.task()
    def tag(job_id: int) -> None:
        from pipelines.runs import run_tagging

        run_tagging(instance, job_id)

    @huey.periodic_task(crontab(minute="*"))
    def recover_lost_jobs() -> None:
        """Re-queue jobs a killed worker took with it (at once if it died here); claiming makes a duplicate harmless."""
        from pipelines.runs import worker_gone

        with instance.connection() as db:
            for job in job_status.jobs_to_recover(db, worker_gone):
                log.info("re-queueing %s job %s (%s)", job["kind"], job["id"], job["status"])
                if job["status"] == "running":
                    job_status.mark_interrupted(db, job)
                else:
                    job_status.mark_requeued(db, job["id"])
                (transcribe if job["kind"] == "transcribe" else tag)(job["id"])

    @huey.periodic_task(crontab(minute="*"))
    def finish_withdrawals() -> None:
        """A withdrawal whose process died before its files were swapped is finished within a minute."""
        from pipelines.withdraw import catch_up_withdrawals

        finished = catch_up_withdrawals(instance)
        if finished:
            log.warning("finished withdrawing %s from the published files (cut short by a crash)", sorted(finished))

    @huey.periodic_task(crontab(minute="*/5"))
    def checkpoint_store() -> None:
        """Keep the WAL short: after an erasure it is the last place the erased words could linger."""
        with instance.connection() as db:
            checkpoint(db, wait=30)

    @huey.periodic_task(crontab(minute="*/15"))
    def sweep_unclaimed_uploads() -> None:
        """Recordings and forms from forms never saved go a day on: nobody consented to keeping them."""
        from pipelines.runs import run_upload_sweep

        run_upload_sweep(instance)

    @huey.periodic_task(crontab(minute="*/10"))
    def republish_lapsed_consents() -> None:
        """A story past its consent review date drops out of the published files without anyone asking."""
        from pipelines.publish import lapsed_files, run_publish

        lapsed = lapsed_files(instance, today())
        if lapsed:
            counts = run_publish(instance, actor="system:review-dates")
            log.info("republished after consent review dates passed in %s: %s", lapsed, counts)

    return Queue(
        huey=huey,
        publish=publish,
        publish_changes=publish_changes,
        transcribe=transcribe,
        tag=tag,
        republish_lapsed_consents=republish_lapsed_consents,
        recover_lost_jobs=recover_lost_jobs,
    )


def request_publish(instance: Instance, story_ids: list[int] | None = None) -> None:
    """Ask for the published files to follow a change soon: these stories' copies brought up to date
    (a fraction of a second), or, without stories named, every file rebuilt."""
    queue = queue_for(instance.root)
    if story_ids:
        queue.publish_changes(sorted(set(story_ids)))
    else:
        queue.publish(time.time())  # a rebuild that reads the store after this moment will do


def request_transcription(instance: Instance, story_id: int) -> int:
    """Queue a story's recording for transcription; returns the job id the story page follows."""
    return _enqueue(instance, story_id, "transcribe")


def request_tagging(instance: Instance, story_id: int) -> int:
    return _enqueue(instance, story_id, "tag")


def retry(instance: Instance, job_id: int) -> bool:
    with instance.connection() as db:
        job = job_status.get_job(db, job_id)
        if job is None or not job_status.requeue_job(db, job_id):
            return False
    queue = queue_for(instance.root)
    (queue.transcribe if job["kind"] == "transcribe" else queue.tag)(job_id)
    return True


def _enqueue(instance: Instance, story_id: int, kind: str) -> int:
    with instance.connection() as db:
        job_id = job_status.create_job(db, story_id, kind)
    queue = queue_for(instance.root)
    (queue.transcribe if kind == "transcribe" else queue.tag)(job_id)
    return job_id


def _make_huey(instance: Instance) -> Huey:
    immediate = os.environ.get(IMMEDIATE_ENV) == "1"
    url = os.environ.get(REDIS_ENV)
    if url:
        return RedisHuey("storybank", url=url, immediate=immediate, results=False)
    return SqliteHuey("storybank", filename=str(instance.jobs_path), immediate=immediate, results=False, fsync=True)
