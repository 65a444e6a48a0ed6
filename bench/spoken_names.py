"""How Whisper spells surnames it hears: the evidence behind the fuzzy rule in stories/redact.py.

Run: .venv/bin/python bench/spoken_names.py [COUNT] [--limit N] [--out FILE]
(COUNT gazetteer surnames, 150 by default, after the known and labelled ones; --limit N speaks only the first N)

Each surname is spoken twice in a short sentence by espeak-ng (two voices) and transcribed by the
shipped Whisper model; what Whisper wrote in its place, and the whole transcript, are saved to
bench/data/spoken_names.jsonl ({"name", "voice", "heard", "transcript"}), which `bench/redact.py`
scores. Surnames come from the labelled stories and a fixed sample of the gazetteer, longest
(hardest to spell) favoured.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import report  # noqa: E402
from pipelines.transcribe import TranscriberConfig, transcribe  # noqa: E402
from stories import names as n  # noqa: E402
from tests.audio import VOICES, speak  # noqa: E402

OUT = ROOT / "bench/data/spoken_names.jsonl"
SCRIPT = "My name is Margaret {name}. I said {name}, and I have lived here for years."
# Surnames told in the stories that made us look at this (issue 12), always included.
KNOWN = ["Grimsditch", "Holt", "Pickersgill", "Barraclough", "Illingworth", "Ackroyd", "Wragg", "Pryce", "Lomax"]


def surnames(count: int) -> list[str]:
    labelled = []
    for name in ("names_dev.jsonl", "names_heldout.jsonl"):
        for line in (ROOT / "tests/data" / name).read_text(encoding="utf-8").splitlines():
            for gold in json.loads(line)["names"]:
                parts = gold["name"].split()
                if len(parts) > 1 and parts[-1].isalpha() and parts[-1][0].isupper():
                    labelled.append(parts[-1])
    gazetteer = [s.title() for s in n.read_list("surnames.txt") if s.isalpha() and len(s) >= 5]
    rng = random.Random(12)
    sample = rng.sample(sorted(set(gazetteer)), count)
    return list(dict.fromkeys([*KNOWN, *sorted(set(labelled)), *sample]))


def heard_as(script: str, transcript: str, name: str) -> list[str]:
    """What the transcript has where the script said the name (one entry per time it was said)."""
    said = re.findall(r"[\w'’-]+", script)
    got = re.findall(r"[\w'’-]+", transcript)
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in said], b=[w.lower() for w in got], autojunk=False)
    heard = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        for i in range(a0, a1):
            if said[i] == name:
                heard.append(" ".join(got[b0:b1]) if tag != "equal" else got[b0 + i - a0])
    return heard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=150, help="surnames spoken (default 150)")
    parser.add_argument("--limit", type=int, help="speak only the first N surnames (the known ones first)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the mentions go (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    count, out = args.count, args.out
    config = TranscriberConfig(beam_size=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        spoken = surnames(count)[: args.limit]
        for number, name in enumerate(spoken):
            for voice in VOICES:
                script = SCRIPT.format(name=name)
                wav = speak(script, Path(folder), f"n{number}", voice=voice)
                text = transcribe(wav, engine_config=config).text
                for heard in heard_as(script, text, name):
                    rows.append({"name": name, "voice": voice, "heard": heard, "transcript": text})
            print(f"{number + 1:>4} {name:<16} {[r['heard'] for r in rows[-4:] if r['name'] == name]}", flush=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    exact = sum(r["heard"] == r["name"] for r in rows)
    print(f"{len(rows)} mentions, {exact} spelled as recorded ({exact / len(rows):.0%})")
    report(f"spoken surnames Whisper spelled as recorded, {len(spoken)} surnames in two voices", f"{exact} of {len(rows)}")


if __name__ == "__main__":
    main()
