"""Story search with facets shown, p50/p95 through Datasette's HTTP pages on 127.0.0.1.

Run against a Datasette already serving an instance (`storybank datasette --port PORT`), or let it
start one on an instance (for example the one `bench/scale.py --keep DIR` built, DIR/instance):
    .venv/bin/python bench/search.py --port PORT [--requests 300]
    .venv/bin/python bench/search.py --instance DIR/instance
Each request is the public stories page a person gets from the search box, with the outcomes,
intervention and year facets shown, for a word that names an outcome (its note and expansion
included) or a plain word, a phrase, an OR and a prefix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import report
from bench.scale import free_port, wait_for

QUERIES = ["loneliness", "isolated", "debt", "anxiety", "garden", "college", '"food bank"', "lonely OR walking", "confid*"]
FACETS = "&_facet_array=outcomes&_facet_array=interventions&_facet=year"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="a Datasette already serving Storybank's files")
    where.add_argument("--instance", type=Path, help="start `storybank datasette` on this instance for the run")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    if args.instance:
        with serving(args.instance) as port:
            measure(port, args.requests)
    else:
        measure(args.port, args.requests)


@contextlib.contextmanager
def serving(instance: Path) -> Iterator[int]:
    """`storybank datasette` on a free port of 127.0.0.1 for as long as the block runs."""
    port = free_port()
    env = {**os.environ, "STORYBANK_INSTANCE": str(instance.resolve())}
    args = [sys.executable, "-m", "stories.cli", "datasette", "--port", str(port)]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/public.json")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def measure(port: int, requests: int) -> None:
    rng, times = random.Random(3), []
    for number in range(requests + 20):
        typed = rng.choice(QUERIES)
        url = f"http://127.0.0.1:{port}/public/stories?_search={urllib.parse.quote(typed)}{FACETS}"
        started = time.perf_counter()
        urllib.request.urlopen(url, timeout=30).read()
        if number >= 20:  # the first requests warm the page cache
            times.append(time.perf_counter() - started)
    cuts = statistics.quantiles(times, n=100)
    print(f"search with facets shown: p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms (n={len(times)})")
    stories = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/public/stories.json?_size=0", timeout=30))
    size = f"{stories['filtered_table_rows_count']:,} public stories"
    p95 = cuts[94] * 1000
    report(f"Datasette search page with 3 facets shown p95, {size}", f"{p95:.0f} ms", "<= 100 ms", p95 <= 100)


if __name__ == "__main__":
    main()
