"""Recall, precision and speed of pipelines/redact.py on the labelled stories.

Run: .venv/bin/python bench/redact.py [--misses]

Sound-alikes (pipelines/sound_alike.py, for stories told aloud): what the rule catches among the
spellings Whisper wrote for spoken surnames (bench/data/spoken_names.jsonl, made by
bench/spoken_names.py), and what it costs: capitalised words of the labelled stories it would hide
or flag for a storyteller named like each labelled person, and the share of the gazetteer's names
it would take for each spoken surname.

A labelled name counts as found when a mention from find_names overlaps it (the reviewer
sees it flagged); a mention counts as right when it overlaps a labelled name. Speed is
measured on a text of at least 200,000 words made from the stories, with every labelled
name swapped for a random one from the gazetteer so that the word cache is not flattered.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import names as n  # noqa: E402
from pipelines import redact as r  # noqa: E402
from pipelines import sound_alike as s  # noqa: E402

SETS = {
    "dev": ROOT / "tests/data/names_dev.jsonl",
    "held-out": ROOT / "tests/data/names_heldout.jsonl",
}
SPEED_WORDS = 200_000
SPOKEN = ROOT / "bench/data/spoken_names.jsonl"
CAPITALISED = re.compile(r"[A-Z][\w'’]*")


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


def verdict(word: str, part: str) -> str | None:
    return "same" if word == part else s.likeness(word, part)


def sound_alikes(stories: list[dict]) -> None:
    """What the sound-alike rule catches in Whisper's spellings, and what else it would hide or flag."""
    if SPOKEN.exists():
        rows = [json.loads(line) for line in SPOKEN.read_text(encoding="utf-8").splitlines() if line]
        heard = [(row["name"], [w for piece in CAPITALISED.findall(row["heard"]) for w in piece.split("-")]) for row in rows]
        misheard = [(name, words) for name, words in heard if name not in words and len(name) >= s.MIN_LETTERS]
        tally = {"same": 0, "maybe": 0, None: 0}
        unrecognisable = 0  # missed, and no capitalised word keeps even half the name's letters
        for name, words in misheard:
            verdicts = {verdict(w, name) for w in words}
            outcome = "same" if "same" in verdicts else "maybe" if "maybe" in verdicts else None
            tally[outcome] += 1
            unrecognisable += outcome is None and all(s.spelling_closeness(w, name) < 0.5 for w in words)
        print(
            f"sound-alikes: {len(misheard)} of {len(rows)} spoken surnames ({s.MIN_LETTERS}+ letters) not written "
            "as recorded by Whisper: "
            f"{tally['same']} hidden ({tally['same'] / len(misheard):.0%}), {tally['maybe']} flagged "
            f"({tally['maybe'] / len(misheard):.0%}), {tally[None]} missed ({unrecognisable} of them with no "
            "capitalised word sharing half the name's letters)"
        )
    pairs = hidden = flagged = hidden_not_names = 0
    for story in stories:
        text, gold = story["text"], story["names"]
        parts = {p for g in gold for p in g["name"].split() if len(p) >= s.MIN_LETTERS and p[0].isupper()}
        for part in parts:
            pairs += 1
            for m in CAPITALISED.finditer(text):
                v = verdict(m.group(), part) if m.group() != part else None
                if v is None:
                    continue
                is_name = any(overlaps(m.start(), m.end(), g["start"], g["end"]) for g in gold)
                hidden += v == "same"
                flagged += v == "maybe"
                hidden_not_names += v == "same" and not is_name
    print(
        f"sound-alikes: per storyteller-name part in a labelled story ({pairs} pairs): {hidden / pairs:.3f} other words "
        f"hidden ({hidden_not_names} of {hidden} not names at all), {flagged / pairs:.3f} flagged"
    )
    gazetteer = sorted({w.title() for w in n.read_list("given_names.txt") + n.read_list("surnames.txt") if w.isalpha()})
    sample = random.Random(7).sample(gazetteer, 150)
    same = maybe = 0
    for part in sample:
        for word in gazetteer:
            if word != part and abs(len(s.sound_key(word)) - len(s.sound_key(part))) <= 1:  # likeness needs this
                v = s.likeness(word, part)
                same += v == "same"
                maybe += v == "maybe"
    total = len(sample) * (len(gazetteer) - 1)
    print(
        f"sound-alikes: another of the gazetteer's {len(gazetteer):,} names taken as one of 150 sampled: {same / total:.5f} "
        f"({same / len(sample):.1f} names each), flagged {maybe / total:.5f} ({maybe / len(sample):.1f} each)"
    )


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
    sound_alikes(every_story)
    text = speed_text(every_story)
    words = len(text.split())
    others = {"Jamie": "[my son]", "Bethan Rees": "[support worker]", "Mrs Okafor": "[adviser]"}
    timed("find_names", words, lambda: n.find_names(text))
    timed("redact", words, lambda: r.redact(text, ["Maria Smith", "Mimi"], other_names=others))


if __name__ == "__main__":
    main()
