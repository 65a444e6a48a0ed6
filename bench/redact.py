"""Recall, precision and speed of stories/redact.py on the labelled stories.

Run: .venv/bin/python bench/redact.py [--misses] [--tiny]

`--tiny` runs every part on a few stories and a short text, so the test suite can run it (tests/test_benches.py).

Sound-alikes (stories/sound_alike.py, for stories told aloud): what the rule catches among the
spellings Whisper wrote for spoken surnames (bench/data/spoken_names.jsonl, made by
bench/spoken_names.py), and what it costs: capitalised words of the labelled stories it would hide
or flag for a storyteller named like each labelled person, and the share of the gazetteer's names
it would take for each spoken surname. Then the whole identity step on Whisper's transcripts
("My name is Margaret <surname>. I said <surname>, ..."), spelling and context together.

Widened matching (issue 12, round two), and its cost: mentions the new finder rules make in the
outcome stories (no names labelled there, so each is shown to be judged), and for a storyteller
named like each labelled person, what the joined-token rule, run-together initials and the context
rule would hide or flag that is not that person's name.

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

from bench.figures import report  # noqa: E402
from stories import names as n  # noqa: E402
from stories import redact as r  # noqa: E402
from stories import sound_alike as s  # noqa: E402

SETS = {
    "dev": ROOT / "tests/data/names_dev.jsonl",
    "held-out": ROOT / "tests/data/names_heldout.jsonl",
}
SPEED_WORDS = 200_000
GAZETTEER_SAMPLE = 150
# --tiny: stories per labelled set, spoken names, gazetteer names sampled, words in the speed text.
TINY = {"stories": 8, "spoken": 20, "sample": 3, "words": 5_000}
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


def speed_text(stories: list[dict], speed_words: int = SPEED_WORDS) -> str:
    """Stories repeated to `speed_words` words, each labelled name replaced by a random one."""
    rng = random.Random(20240601)
    names = sorted(n.read_list("given_names.txt")) + sorted(n.read_list("surnames.txt"))
    parts, words = [], 0
    while words < speed_words:
        for story in stories:
            text, pos, out = story["text"], 0, []
            for g in story["names"]:
                out += [text[pos : g["start"]], rng.choice(names)]
                pos = g["end"]
            out.append(text[pos:])
            parts.append("".join(out))
            words += len(parts[-1].split())
    return "\n\n".join(parts)


def timed(label: str, words: int, run) -> float:
    n._kind.cache_clear()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    print(f"{label:<11} {words:>9,} words  {seconds:6.3f} s  {words / seconds:>11,.0f} words/s")
    return words / seconds


def verdict(word: str, part: str) -> str | None:
    return "same" if word == part else s.likeness(word, part)


def sound_alikes(stories: list[dict], spoken: int | None = None, sample_size: int = GAZETTEER_SAMPLE) -> None:
    """What the sound-alike rule catches in Whisper's spellings, and what else it would hide or flag."""
    if SPOKEN.exists():
        rows = [json.loads(line) for line in SPOKEN.read_text(encoding="utf-8").splitlines() if line][:spoken]
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
    sample = random.Random(7).sample(gazetteer, sample_size)
    same = maybe = 0
    for part in sample:
        for word in gazetteer:
            if word != part and abs(len(s.sound_key(word)) - len(s.sound_key(part))) <= 1:  # likeness needs this
                v = s.likeness(word, part)
                same += v == "same"
                maybe += v == "maybe"
    total = len(sample) * (len(gazetteer) - 1)
    print(
        f"sound-alikes: another of the gazetteer's {len(gazetteer):,} names taken as one of {sample_size} sampled: "
        f"{same / total:.5f} "
        f"({same / len(sample):.1f} names each), flagged {maybe / total:.5f} ({maybe / len(sample):.1f} each)"
    )


def covered(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(a < end and start < b for a, b in spans)


def transcripts(rows: list[dict]) -> None:
    """The identity step on each transcript, anonymous level: where Whisper misheard the surname, is it hidden?"""
    tally = {"hidden": 0, "flagged as theirs": 0, "flagged as a name": 0, "missed": 0}
    by_mention = {0: dict.fromkeys(tally, 0), 1: dict.fromkeys(tally, 0)}
    pairs = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    for pair in pairs:
        transcript, name = pair[0]["transcript"], pair[0]["name"]
        result = r.redact_for_level(transcript, "anonymous", [f"Margaret {name}"], sound_alike=True)
        pos = 0
        for mention, row in enumerate(pair):
            heard = row["heard"]
            at = transcript.find(heard, pos) if heard else -1
            if at < 0 or heard == name or len(name) < s.MIN_LETTERS:
                continue
            pos = at + len(heard)
            words = [(m.start() + at, m.end() + at) for m in CAPITALISED.finditer(heard)]
            hidden = [(i["start"], i["end"]) for i in result.redacted]
            if words and all(covered(a, b, hidden) for a, b in words):
                outcome = "hidden"
            else:
                # found mentions are offsets in the redacted text; map the words there
                left = [(result.new_offset(a), result.new_offset(b, end=True)) for a, b in words if not covered(a, b, hidden)]
                theirs = [(m.start, m.end) for m in result.found if isinstance(m, r.MaybeStoryteller)]
                names = [(m.start, m.end) for m in result.found]
                outcome = (
                    "flagged as theirs"
                    if any(covered(a, b, theirs) for a, b in left)
                    else "flagged as a name"
                    if any(covered(a, b, names) for a, b in left)
                    else "missed"
                )
            tally[outcome] += 1
            by_mention[mention][outcome] += 1
    total = sum(tally.values())
    print(
        f"transcripts: {total} misheard surnames (4+ letters) in Whisper's sentences, anonymous level: "
        + ", ".join(f"{count} {what} ({count / total:.0%})" for what, count in tally.items())
    )
    for mention, label in ((0, "after 'My name is Margaret'"), (1, "after 'I said'")):
        counts = by_mention[mention]
        print(f"  {label:<28} " + ", ".join(f"{count} {what}" for what, count in counts.items()))


def widened(stories: list[dict], outcome_stories: list[dict]) -> None:
    """What the rules added in round two find or hide beyond what they should."""
    extra: list[str] = []
    words = 0
    for story in outcome_stories:
        text = story["text"]
        words += len(text.split())
        speech = [line.span() for line in n._LINE.finditer(text) if n._lowercase_line(line.group())]
        lines = n._lowercase_in_cased(text, set(n._LOWER_RUN.findall(text)), set(), speech)
        joined = n._joined_mentions(text, set(n._LOWER_RUN.findall(text)))
        contacts = [m for m in n.CONTACT.finditer(text) if "@" not in m.group()]
        families = [m for m in n.find_names(text) if n._family(m.name) and text[max(0, m.start - 4) : m.start].lower() == "the "]
        extra += [m.name for m in [*lines, *joined, *families]] + [m.group() for m in contacts]
    print(f"widened finder on {len(outcome_stories)} outcome stories ({words:,} words): {len(extra)} mentions {sorted(extra)}")
    people = joined_hidden = initials_flagged = said_hidden = said_flagged = 0
    for story in stories:
        text, gold = story["text"], story["names"]
        folded = r.folding.fold(text)
        for g in gold:
            recorded = r.read_name(g["name"])
            if len(recorded.parts) < 2 or not recorded.first:
                continue
            people += 1
            mine = [(x["start"], x["end"]) for x in gold if set(r.read_name(x["name"]).parts) & set(recorded.parts)]
            rules = dict.fromkeys(r.name_variants(g["name"]), "[x]")
            theirs = r._Storyteller.of([g["name"]], "[x]", told_aloud=True)
            others = lambda pattern: sum(not covered(m.start(), m.end(), mine) for m in re.finditer(pattern, folded.text))  # noqa: B023, E731
            for token in r._joined_rules(folded.text, r._folded_rules(rules), set(theirs.joiners)):
                joined_hidden += others(re.escape(token))
            for initials in theirs.initials:
                initials_flagged += others(rf"\b{initials}\b")
            hide, flag = s.heard_as_theirs(folded.text, theirs.hidden, theirs.given, r._folded_rules(rules))
            before_context = s.heard_as_theirs(folded.text, theirs.hidden, (), r._folded_rules(rules))[0]
            said_hidden += sum(others(rf"\b{re.escape(word)}\b") for word in hide - before_context)
            said_flagged += sum(others(rf"\b{re.escape(word)}\b") for word in flag)
    print(
        f"for a storyteller named like each of {people} labelled people (two or more name parts), other words: "
        f"hidden as joined tokens {joined_hidden / people:.3f}, run-together initials flagged {initials_flagged / people:.3f}; "
        f"told aloud, hidden as said where their name goes {said_hidden / people:.3f}, flagged {said_flagged / people:.3f}"
    )


def main() -> None:
    show_misses, tiny = "--misses" in sys.argv, "--tiny" in sys.argv
    size = TINY if tiny else {"stories": None, "spoken": None, "sample": GAZETTEER_SAMPLE, "words": SPEED_WORDS}
    start = time.perf_counter()
    n.lexicon()
    print(f"gazetteers loaded in {time.perf_counter() - start:.3f} s")
    every_story = []
    for label, path in SETS.items():
        stories = load(path)[: size["stories"]]
        every_story += stories
        found, labelled, right, made = score(stories, show_misses)
        print(
            f"{label:<9} {len(stories):>4} stories {labelled:>4} names  "
            f"recall {found / labelled:.3f}  precision {right / max(made, 1):.3f}"
        )
        report(
            f"name finding recall / precision, {label} ({len(stories)} stories)",
            f"{found / labelled:.3f} / {right / max(made, 1):.3f}",
        )
    sound_alikes(every_story, size["spoken"], size["sample"])
    if SPOKEN.exists():
        transcripts([json.loads(line) for line in SPOKEN.read_text(encoding="utf-8").splitlines() if line][: size["spoken"]])
    outcome_stories = load(ROOT / "tests/data/outcomes_dev.jsonl") + load(ROOT / "tests/data/outcomes_heldout.jsonl")
    widened(every_story, outcome_stories[: size["stories"]])
    text = speed_text(every_story, size["words"])
    words = len(text.split())
    others = {"Jamie": "[my son]", "Bethan Rees": "[support worker]", "Mrs Okafor": "[adviser]"}
    for label, run in (
        ("find_names", lambda: n.find_names(text)),
        ("redact", lambda: r.redact(text, ["Maria Smith", "Mimi"], other_names=others)),
    ):
        report(f"{label} speed, {words:,} words, one core", f"{timed(label, words, run):,.0f} words/s")


if __name__ == "__main__":
    main()
