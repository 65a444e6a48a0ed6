"""`storybank worker`, unchanged, that also prints "PID KIND JOB_ID" for every job task it completes.

The scale-out test reads these lines to see which worker ran which job. The print is a huey
signal handler on the instance's queue: it observes, it does not change what the worker does.
"""

from __future__ import annotations

import os

from huey.signals import SIGNAL_COMPLETE

from pipelines.jobs import queue_for
from stories.cli import cli
from stories.instance import Instance

queue = queue_for(Instance.from_env().root)  # the same cached queue the worker command uses


@queue.huey.signal(SIGNAL_COMPLETE)
def print_job(signal: str, task, *args, **kwargs) -> None:  # noqa: ANN001
    if task.args:  # job tasks carry a job id; periodic tasks carry nothing
        print(os.getpid(), task.name, task.args[0], flush=True)


if __name__ == "__main__":
    cli(["worker"])
