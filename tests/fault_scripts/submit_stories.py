"""Record COUNT stories on one connection of its own, as one of many concurrent writers.

Usage: submit_stories.py INSTANCE FORM_JSON ORGANISATION_ID PREFIX COUNT

Prints "ready" once its connection is open, waits for a line on stdin so every writer starts
together, records stories titled PREFIX-0 .. PREFIX-(COUNT-1), then prints one JSON line:
{"ok": stories recorded, "errors": {error: count}, "seconds": time spent writing}.
"""

from __future__ import annotations

import collections
import json
import sys
import time
from pathlib import Path

from stories.instance import Instance
from stories.records import record_story


def main(root: str, form_file: str, organisation_id: str, prefix: str, count: str) -> None:
    form = json.loads(Path(form_file).read_text())
    db = Instance(Path(root)).open()
    print("ready", flush=True)
    sys.stdin.readline()
    ok, errors = 0, collections.Counter()
    started = time.perf_counter()
    for n in range(int(count)):
        try:
            record_story(db, {**form, "title": f"{prefix}-{n}"}, organisation_id=int(organisation_id), actor=f"writer:{prefix}")
            ok += 1
        except Exception as error:  # every failure is counted, not just the expected kind
            errors[f"{type(error).__name__}: {error}"] += 1
    seconds = time.perf_counter() - started
    db.close()
    print(json.dumps({"ok": ok, "errors": dict(errors), "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
