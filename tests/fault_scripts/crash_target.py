"""Children to kill with SIGKILL: a story writer or a publisher, forked on demand.

Usage: crash_target.py INSTANCE FORM_JSON ORGANISATION_ID

The heavy imports happen once, here, so each forked child is at work within milliseconds and a
hundred kills fit in a test run. Each stdin line asks for one child and is answered with its pid:

  write ACK_FILE                     record stories for ever; append each story's id to ACK_FILE
                                     only after record_story has returned (acknowledged)
  publish ACK_FILE DATE DATE         run_publish for ever, alternating between two dates (two
                                     possible story sets); append the date after each complete run
  reap PID                           wait for a child the test has killed; answers the signal that
                                     ended it (9 for SIGKILL), or minus its exit status

Children never return: the test kills them. Until reaped, a dead child keeps its pid, so the
test's SIGKILL can never reach a stranger that happened to be given a recycled pid.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import sys
from pathlib import Path

from pipelines.publish import run_publish
from stories.instance import Instance
from stories.records import record_story


def write_forever(instance: Instance, form: dict, organisation_id: int, ack: int) -> None:
    db = instance.open()
    for n in itertools.count():
        story_id = record_story(db, {**form, "title": f"crash {os.getpid()}-{n}"}, organisation_id=organisation_id, actor="crash")
        os.write(ack, f"{story_id}\n".encode())  # reaches the kernel at once: survives our SIGKILL


def publish_forever(instance: Instance, first: str, second: str, ack: int) -> None:
    for today in itertools.cycle((first, second)):
        run_publish(instance, today=dt.date.fromisoformat(today), actor="crash")
        os.write(ack, f"{today}\n".encode())


def main(root: str, form_file: str, organisation_id: str) -> None:
    instance = Instance(Path(root))
    form = json.loads(Path(form_file).read_text())
    for line in sys.stdin:
        command, argument, *dates = line.split()
        if command == "reap":
            _, status = os.waitpid(int(argument), 0)
            print(os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status), flush=True)
            continue
        pid = os.fork()
        if pid:
            print(pid, flush=True)
            continue
        try:
            ack = os.open(argument, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            if command == "write":
                write_forever(instance, form, int(organisation_id), ack)
            else:
                publish_forever(instance, *dates, ack)
        finally:
            os._exit(1)  # a child must never fall back into this loop


if __name__ == "__main__":
    main(*sys.argv[1:])
