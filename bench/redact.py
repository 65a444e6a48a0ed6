"""Recall, precision and speed of pipelines/redact.py on the labelled stories.

Run: .venv/bin/python bench/redact.py [--misses]

A labelled name counts as found when a mention from find_names overlaps it (the reviewer
sees it flagged); a mention counts as right when it overlaps a labelled name. Speed is
measured on a text of at least 200,000 words made from the stories, with every labelled
name swapped for a random one from the gazetteer so that the word cache is not flattered.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import names as n  # noqa: E402
from pipelines import redact as r  # noqa: E402

SETS = {
    "dev": ROOT / "tests/data/names_dev.jsonl",
    "held-out": ROOT / "tests/data/names_heldout.jsonl",
}
SPEED_WORDS = 200_000


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def score(stories: list[dict], show_misses: bool) -> tuple[int, int, int, int]:
    """(names found, names labelled, mentions right, mentions made)."""
    found = labelled = right = made = 0
    for story in stories:
        text, gold = story["text"], story["names"]
        mentions = n.find_names(text)
        for g in gold:
            hit = any(overlaps(m.start, m.end, g["start"], g["end"]) for m in mentions)
            found += hit
            if show_misses and not hit:
                print(f"  missed {g['name']!r}: …{text[max(0, g['start'] - 40) : g['end'] + 30]}…")
        for m in mentions:
            ok = any(overlaps(m.start, m.end, g["start"], g["end"]) for g in gold)
            right += ok
            if show_misses and not ok:
                print(f"  extra  {m.name!r}: …{text[max(0, m.start - 40) : m.end + 30]}…")
        labelled += len(gold)
        made += len(mentions)
    return found, labelled, right, made


def speed_text(stories: list[dict]) -> str:
    """Stories repeated to SPEED_WORDS words, each labelled name replaced by a random one."""
    rng = random.Random(20240601)
    names = sorted(n.read_list("given_names.txt")) + sorted(n.read_list("surnames.txt"))
    parts, words = [], 0
    while words < SPEED_WORDS:
        for story in stories:
            text, pos, out = story["text"], 0, []
            for g in story["names"]:
                out += [text[pos : g["start"]], rng.choice(names)]
                pos = g["end"]
            out.append(text[pos:])
            parts.append("".join(out))
            words += len(parts[-1].split())
    return "\n\n".join(parts)


def timed(label: str, words: int, run) -> None:
    n._kind.cache_clear()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    print(f"{label:<11} {words:>9,} words  {seconds:6.3f} s  {words / seconds:>11,.0f} words/s")


def main() -> None:
    show_misses = "--misses" in sys.argv
    start = time.perf_counter()
    n.lexicon()
    print(f"gazetteers loaded in {time.perf_counter() - start:.3f} s")
    every_story = []
    for label, path in SETS.items():
        stories = load(path)
        every_story += stories
        found, labelled, right, made = score(stories, show_misses)
        print(
            f"{label:<9} {len(stories):>4} stories {labelled:>4} names  "
            f"recall {found / labelled:.3f}  precision {right / max(made, 1):.3f}"
        )
    text = speed_text(every_story)
    words = len(text.split())
    others = {"Jamie": "[my son]", "Bethan Rees": "[support worker]", "Mrs Okafor": "[adviser]"}
    timed("find_names", words, lambda: n.find_names(text))
    timed("redact", words, lambda: r.redact(text, ["Maria Smith", "Mimi"], other_names=others))


if __name__ == "__main__":
    main()
