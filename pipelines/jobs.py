"""The job queue: huey on a SQLite file in the instance, or Redis when STORYBANK_REDIS_URL is set.

Queues are built per instance on first use (never at import), and tasks close over their
instance, so a task's arguments are only ids. Jobs wait in the queue while no worker runs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper

from stories.clock import today
from stories.instance import Instance

REDIS_ENV = "STORYBANK_REDIS_URL"
IMMEDIATE_ENV = "STORYBANK_JOBS_IMMEDIATE"  # run jobs inline, for tests and one-off scripts

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Queue:
    huey: Huey
    publish: TaskWrapper
    republish_lapsed_consents: TaskWrapper


@functools.cache
def queue_for(root: Path) -> Queue:
    instance = Instance(root)
    huey = _make_huey(instance)

    @huey.task(retries=3, retry_delay=5)
    def publish() -> dict[str, int]:
        from pipelines.publish import run_publish

        counts = run_publish(instance)
        log.info("published %s", counts)
        return counts

    @huey.periodic_task(crontab(minute="*/10"))
    def republish_lapsed_consents() -> None:
        """A story past its consent review date drops out of the published files without anyone asking."""
        from pipelines.publish import lapsed_files, run_publish

        lapsed = lapsed_files(instance, today())
        if lapsed:
            counts = run_publish(instance, actor="system:review-dates")
            log.info("republished after consent review dates passed in %s: %s", lapsed, counts)

    return Queue(huey=huey, publish=publish, republish_lapsed_consents=republish_lapsed_consents)


def request_publish(instance: Instance) -> None:
    """Ask for the published files to be rebuilt soon (a change affects what they may hold)."""
    queue_for(instance.root).publish()


def _make_huey(instance: Instance) -> Huey:
    immediate = os.environ.get(IMMEDIATE_ENV) == "1"
    url = os.environ.get(REDIS_ENV)
    if url:
        return RedisHuey("storybank", url=url, immediate=immediate, results=False)
    return SqliteHuey("storybank", filename=str(instance.jobs_path), immediate=immediate, results=False, fsync=True)
