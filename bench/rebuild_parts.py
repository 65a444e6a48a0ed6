"""Where a full rebuild's time goes, part by part: `run_publish` itself, each of its steps timed in place.

Runs the real rebuild on an instance (it swaps in new published files: use a copy of a kept
instance, never one being served), with the publisher's steps wrapped to add up their wall time
and the CPU time of the thread that ran them. The two files are built at once on two threads, so
the per-file parts overlap in wall time; CPU seconds of the worker processes (the identity step)
are read from /proc as the pool stops.

    .venv/bin/python bench/rebuild_parts.py --instance /work/bench-data/rebuild23/instance          # warm
    .venv/bin/python bench/rebuild_parts.py --instance /work/bench-data/rebuild23/instance --cold   # first time
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import load, report  # noqa: E402
from pipelines import publish, published_file  # noqa: E402
from stories import published_versions as store  # noqa: E402
from stories.instance import Instance  # noqa: E402

WALL: dict[str, float] = collections.defaultdict(float)
CPU: dict[str, float] = collections.defaultdict(float)
_LOCK = threading.Lock()


@contextmanager
def timed(label: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        with _LOCK:
            WALL[label] += time.perf_counter() - wall
            CPU[label] += time.thread_time() - cpu


def wrap(owner: Any, name: str, label: str | Callable[..., str]) -> None:
    real = getattr(owner, name)

    @functools.wraps(real)
    def step(*args: Any, **kwargs: Any) -> Any:
        with timed(label(*args, **kwargs) if callable(label) else label):
            result = real(*args, **kwargs)
            return list(result) if name == "published_rows" else result

    setattr(owner, name, step)


def _audience(*args: Any, **kwargs: Any) -> str:
    return kwargs.get("audience") or (args[1] if len(args) > 1 else "?")


def instrument() -> None:
    wrap(publish, "stories_for_publication", "1 load stories")
    wrap(publish, "list_interventions", "1 load interventions")
    wrap(publish, "published_versions", "2 identity versions (all)")
    if hasattr(publish, "versions_and_families"):  # and their search families, stored beside them
        wrap(publish, "versions_and_families", "2 identity versions and search families (all)")
    wrap(store, "load_all", "2a  read stored versions (SQL + JSON)")
    wrap(publish, "_identity_applied", "2b  identity step for stories without a current version")
    wrap(store, "save", "2c  store fresh versions")
    wrap(publish, "vocabulary", "3 outcome vocabulary")
    wrap(publish, "published_rows", lambda stories, audience, *a: f"4 rows: {audience}")
    if hasattr(publish, "rows_by_audience"):  # each story's row made once for every file
        wrap(publish, "rows_by_audience", "4 rows: every audience")
    if hasattr(publish, "with_families"):  # before families were stored (issue 18): worked out on every rebuild
        wrap(publish, "with_families", "5 search word families")
    else:
        wrap(store, "save_families", "2d  store families worked out afresh")
    wrap(publish, "write_tables", lambda db, audience, **k: f"6 write tables: {audience}")
    wrap(published_file, "_labelled", "6a  label outcomes (both files)")
    wrap(published_file, "_insert", lambda db, table, rows: f"6b  insert {table} (both files)")
    wrap(published_file, "_finish", lambda db, audience, **k: f"6c  counts + FTS + indexes: {audience}")
    wrap(published_file, "_count", "6d   counts (both files)")
    wrap(published_file.sqlite_utils.db.Table, "create_index", "6e   indexes (both files)")
    wrap(publish, "_check", lambda conn, check: f"7 check ({check}, both files)")
    wrap(publish, "_fsync", "8 fsync (both files)")
    wrap(publish, "_swap_in", "9 late withdrawals + swap (both files)")
    wrap(publish.audit, "record", "9 audit")


WORKER_CPU: list[float] = []


class CountedPool(ProcessPoolExecutor):
    """The publisher's process pool, adding up its workers' CPU seconds before they stop (they are the
    forkserver's children, not ours, so `resource` never sees them)."""

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        for pid in list(getattr(self, "_processes", None) or {}):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                WORKER_CPU.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
            except (OSError, IndexError, ValueError):
                pass
        super().shutdown(*args, **kwargs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--cold", action="store_true", help="forget every stored identity version first (the first publish)")
    args = parser.parse_args(argv)
    instance = Instance(args.instance)
    if args.cold:
        db = instance.open()
        try:
            store.forget_all(db)
        finally:
            db.close()
    instrument()
    publish.ProcessPoolExecutor = CountedPool
    print(f"Machine: {load()}")
    wall, cpu = time.perf_counter(), time.process_time()
    counts = publish.run_publish(instance, actor="bench")
    took, cpu_self = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"Full publish ({'first time' if args.cold else 'warm'}): {took:.1f} s wall, {cpu_self:.1f} s CPU in this process,"
        f" {sum(WORKER_CPU):.1f} s CPU in {len(WORKER_CPU)} worker processes  {counts}"
    )
    label = "first time, every story redacted" if args.cold else "warm, stored versions and families reused"
    report(
        f"full rebuild, parts timed ({label}), {sum(counts.values()) // len(counts):,} stories a file: wall / CPU",
        f"{took:.1f} s / {cpu_self + sum(WORKER_CPU):.1f} s CPU",
    )
    print(f"{'part':58} {'wall s':>8} {'cpu s':>8}")
    for label in sorted(WALL):
        print(f"{label:58} {WALL[label]:8.2f} {CPU[label]:8.2f}")
    print(f"Machine after: {load()}")


if __name__ == "__main__":
    main()
