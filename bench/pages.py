"""The app's story page and story list on a kept instance, without bench/scale.py's publishes first.

Starts the app as `storybank serve` does (`storybank web`), then for a story page, the list's first
page and a page half-way down (page 1,000 of 2,000 at 100,000 stories, asked for by number) times one
user alone (latency, and the app's CPU milliseconds per request, which a shared machine's load disturbs
less), then --users concurrent users (p50/p95). --profile DIR writes py-spy's samples of the app under
the concurrent load, the threads holding the GIL only (py-spy --format raw: one stack a line with its
count); py-spy is not a project dependency: `.venv/bin/pip install py-spy` first.

    .venv/bin/python bench/pages.py --instance DIR/instance [--users 20] [--requests 25] [--profile DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import load, report
from bench.scale import bench_pages, free_port, p95_ms, percentiles, wait_for
from stories.instance import Instance


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """This process and its children (the app may serve from several processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(child) for child in children.read_text().split())] if children.exists() else [pid]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", type=Path, required=True, help="an instance bench/scale.py --keep built")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="pages each concurrent user asks for")
    parser.add_argument("--alone", type=int, default=40, help="pages timed for one user alone")
    parser.add_argument("--profile", type=Path, help="write py-spy samples of the app under load here")
    args = parser.parse_args(argv)
    instance = Instance(args.instance)
    db = instance.open()
    try:
        stories_count = db.execute("SELECT count(*) FROM stories").fetchone()[0]
    finally:
        db.close()
    size = f"{stories_count:,} stories"
    print(f"Machine: {load()}; {size}")
    port = free_port()
    env = {**os.environ, "STORYBANK_INSTANCE": str(instance.root), "STORYBANK_JOBS_IMMEDIATE": "0"}
    log = open(instance.root.parent / "pages-web.log", "wb")
    app = subprocess.Popen(
        [sys.executable, "-m", "stories.cli", "web", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/auth/login")
        rng = random.Random(5)
        pages = {
            "story page": [f"/stories/{rng.randint(1, stories_count)}" for _ in range(2000)],
            "story list": ["/stories/"],
            "story list, half-way page": [f"/stories/?page={max(1, stories_count // 100)}"],  # by number, as bookmarked
        }
        for what, paths in pages.items():
            bench_pages(port, paths, 2, 5)  # warm up
            pids = family(app.pid)
            used = cpu_seconds(pids)
            alone = bench_pages(port, paths, 1, args.alone)
            cpu_ms = (cpu_seconds(pids) - used) / len(alone) * 1000
            print(f"App {what}, one user alone: {percentiles(alone)}; app CPU {cpu_ms:.0f} ms per request")
            report(f"app {what}, one user, {size}", f"p50 {sorted(alone)[len(alone) // 2] * 1000:.0f} ms, CPU {cpu_ms:.0f} ms")
            spy = None
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                out = args.profile / f"{what.replace(' ', '-').replace(',', '')}.txt"
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                record = ["record", "--subprocesses", "--format", "raw", "--gil", "-r", "200"]
                spy = subprocess.Popen(
                    [py_spy, *record, "-o", str(out), "-p", str(app.pid)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
            started = time.perf_counter()
            times = bench_pages(port, paths, args.users, args.requests)
            took = time.perf_counter() - started
            if spy:
                spy.send_signal(2)
                spy.wait(timeout=60)
            print(f"App {what}, {args.users} concurrent users: {percentiles(times)}; {len(times) / took:.0f} pages/s")
            report(f"app {what} p95, {args.users} users, {size}", f"{p95_ms(times):.0f} ms", "<= 100 ms", p95_ms(times) <= 100)
    finally:
        app.terminate()
        app.wait(timeout=20)
        log.close()
        urllib.request.urlcleanup()


if __name__ == "__main__":
    main()
