"""Story search with facets shown, and question pages, p50/p95 through Datasette's HTTP pages on 127.0.0.1.

Run against a Datasette already serving an instance (`storybank datasette --port PORT`), or let it
start one on an instance (for example the one `bench/scale.py --keep DIR` built, DIR/instance):
    .venv/bin/python bench/search.py --port PORT [--requests 300] [--database public]
    .venv/bin/python bench/search.py --instance DIR/instance
Each search is the stories page a person gets from the search box, with the outcomes,
intervention and year facets shown, for a word that names an outcome (its note and expansion
included) or a plain word, a phrase, an OR and a prefix. Each question is one of the canned
questions with its choices picked at random from its own lists (some left at "any"), as a
person asks it from the question page. Targets (issue 15): search p95 <= 50 ms, question p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import report
from bench.scale import free_port, wait_for

QUERIES = ["loneliness", "isolated", "debt", "anxiety", "garden", "college", '"food bank"', "lonely OR walking", "confid*"]
FACETS = "&_facet_array=outcomes&_facet_array=interventions&_facet=year"
QUESTIONS = ["stories_by_outcome", "verified_improvements", "contract_evidence", "stories_by_intervention"]
WARM_UP = 20  # the first requests fill the page cache and the choice lists' cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="a Datasette already serving Storybank's files")
    where.add_argument("--instance", type=Path, help="start `storybank datasette` on this instance for the run")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", default="public", help="public, or commissioners with --cookie")
    parser.add_argument("--cookie", help="a storybank_session cookie, for the commissioners' file")
    args = parser.parse_args()
    if args.cookie:
        opener = urllib.request.build_opener()
        opener.addheaders = [("Cookie", f"storybank_session={args.cookie}")]
        urllib.request.install_opener(opener)
    if args.instance:
        with serving(args.instance) as port:
            measure(f"http://127.0.0.1:{port}/{args.database}", args.requests)
    else:
        measure(f"http://127.0.0.1:{args.port}/{args.database}", args.requests)


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


def measure(base: str, requests: int) -> None:
    size = f"{fetch_json(f'{base}/stories.json?_size=0')['filtered_table_rows_count']:,} stories"
    searches = timed(lambda rng: f"{base}/stories?_search={urllib.parse.quote(rng.choice(QUERIES))}{FACETS}", requests)
    p95 = say("search with facets shown", searches)
    report(f"Datasette search page with 3 facets shown p95, {size}", f"{p95:.0f} ms", "<= 50 ms", p95 <= 50)
    p95 = say("question page", timed(question_urls(base), requests))
    report(f"Datasette question page p95, {size}", f"{p95:.0f} ms", "<= 100 ms", p95 <= 100)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def fetch_json(url: str) -> dict:
    return json.loads(fetch(url))


def timed(urls: Callable[[random.Random], str], requests: int) -> list[float]:
    rng, times = random.Random(3), []
    for number in range(requests + WARM_UP):
        url = urls(rng)
        started = time.perf_counter()
        fetch(url)
        if number >= WARM_UP:
            times.append(time.perf_counter() - started)
    return times


def choices(base: str, question: str) -> dict[str, list[str]]:
    """Each parameter's values as the question page lists them."""
    page = fetch(f"{base}/{question}").decode()
    found = {}
    for name, options in re.findall(r'<select id="choice-[^"]+" name="([^"]+)">(.*?)</select>', page, re.S):
        found[name] = [html.unescape(value) for value in re.findall(r'<option value="([^"]*)"', options)]
    return found


def question_urls(base: str) -> Callable[[random.Random], str]:
    lists = {question: choices(base, question) for question in QUESTIONS}

    def url(rng: random.Random) -> str:
        question = rng.choice(QUESTIONS)
        picked = {name: rng.choice(values) for name, values in lists[question].items()}  # "" (any) is in each list
        return f"{base}/{question}?{urllib.parse.urlencode(picked)}"

    return url


def say(what: str, times: list[float]) -> float:
    """Print p50 and p95 for a person; returns p95 in ms."""
    cuts = statistics.quantiles(times, n=100)
    print(f"{what}: p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms (n={len(times)})")
    return cuts[94] * 1000


if __name__ == "__main__":
    main()
