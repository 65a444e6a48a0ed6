"""Benchmark the outcome tagger against spaCy's bare tokenizer on the same text (one core).

Run: .venv/bin/python bench/tag.py [--words 200000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import report  # noqa: E402
from pipelines.tag import _pipeline, tag_text, tag_texts  # noqa: E402
from stories.frameworks import default_framework  # noqa: E402

DEV_SET = ROOT / "tests" / "data" / "outcomes_dev.jsonl"


def corpus(min_words: int) -> tuple[list[str], int]:
    """The development stories, repeated until there are at least min_words words."""
    texts = [json.loads(line)["text"] for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    per_pass = sum(len(t.split()) for t in texts)
    repeats = -(-min_words // per_pass)
    return texts * repeats, per_pass * repeats


def words_per_second(run, words: int) -> float:
    start = time.perf_counter()
    run()
    return words / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000, help="minimum words to process")
    args = parser.parse_args()

    texts, words = corpus(args.words)
    started = time.perf_counter()
    nlp = _pipeline(default_framework())  # built once and cached; not part of the timings
    print(f"pipeline build: {time.perf_counter() - started:.2f} s ({', '.join(nlp.pipe_names)})")
    tag_texts(texts[:10])  # warm caches

    tokenizer = words_per_second(lambda: [nlp.tokenizer(t) for t in texts], words)
    piped = words_per_second(lambda: list(tag_texts(texts)), words)
    single = words_per_second(lambda: [tag_text(t) for t in texts], words)

    print(f"text: {len(texts)} stories, {words:,} words (development set repeated)")
    print(f"spaCy tokenizer only:      {tokenizer:>10,.0f} words/s")
    print(f"tagger, tag_texts (pipe):  {piped:>10,.0f} words/s  ({piped / tokenizer:.1%} of tokenizer speed)")
    print(f"tagger, tag_text per call: {single:>10,.0f} words/s  ({single / tokenizer:.1%} of tokenizer speed)")
    print(f"ratio tokenizer / tagger:  {tokenizer / piped:.1f}x")
    report(f"outcome tagger speed (tag_texts), {words:,} words, one core", f"{piped:,.0f} words/s")


if __name__ == "__main__":
    main()
