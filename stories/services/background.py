"""The background work a person can ask for again, and the worker that does it."""

from __future__ import annotations

import os

from pipelines import jobs
from stories.instance import Instance


def retry_job(instance: Instance, job_id: int) -> bool:
    """Queue a failed transcription or tagging job again; False if it is not one that can be retried."""
    return jobs.retry(instance, job_id)


def run_worker(instance: Instance, *, workers: int) -> None:
    """Run transcription, tagging, publishing and the periodic checks until stopped, at a lower CPU priority."""
    os.nice(jobs.WORKER_NICENESS)
    # An idle worker looks for work every quarter second at most (one small read of the queue): a
    # change published within a second of the sign-off cannot spend most of it waiting to be seen.
    consumer = jobs.queue_for(instance.root).huey.create_consumer(
        workers=workers, periodic=True, initial_delay=0.1, backoff=1.15, max_delay=0.25
    )
    consumer.run()
