"""Story search with facets shown, p50/p95 through Datasette's HTTP pages on 127.0.0.1.

Run against a Datasette already serving an instance (`storybank datasette --port PORT`):
    .venv/bin/python bench/search.py --port PORT [--requests 300]
Each request is the public stories page a person gets from the search box, with the outcomes,
intervention and year facets shown, for a word that names an outcome (its note and expansion
included) or a plain word, a phrase, an OR and a prefix.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import urllib.parse
import urllib.request

QUERIES = ["loneliness", "isolated", "debt", "anxiety", "garden", "college", '"food bank"', "lonely OR walking", "confid*"]
FACETS = "&_facet_array=outcomes&_facet_array=interventions&_facet=year"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    rng, times = random.Random(3), []
    for number in range(args.requests + 20):
        typed = rng.choice(QUERIES)
        url = f"http://127.0.0.1:{args.port}/public/stories?_search={urllib.parse.quote(typed)}{FACETS}"
        started = time.perf_counter()
        urllib.request.urlopen(url, timeout=30).read()
        if number >= 20:  # the first requests warm the page cache
            times.append(time.perf_counter() - started)
    cuts = statistics.quantiles(times, n=100)
    print(f"search with facets shown: p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms (n={len(times)})")


if __name__ == "__main__":
    main()
