"""Score the tagger on real published case studies: presence per domain, and the directions it offers.

The labels (bench/data/real-labels.jsonl: each story's address, a hash of the text labelled, its
split and its domains with their directions, coded as OUTCOMES.md says) are committed; the texts are
third-party copyright and live outside the repository, one {"url", "text"} per line.

Run: .venv/bin/python bench/real_stories.py --texts /path/to/real-stories.jsonl [--split tune|frozen|all]
     .venv/bin/python bench/real_stories.py --texts ... --calibrate   # how often each reading is right (tune only)
     .venv/bin/python bench/real_stories.py --texts ... --confirm     # the candidates, once, on the frozen split

The "frozen" third is for measuring once, at the end: never look at it while changing anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.tag import evaluate, tag_texts  # noqa: E402
from stories.direction import TRUST_FILE, TRUSTED_PRECISION  # noqa: E402
from stories.frameworks import frameworks_dir  # noqa: E402

LABELS = ROOT / "bench" / "data" / "real-labels.jsonl"
MIN_SUPPORT = 10  # fewer suggestions than this say nothing about how often a reading is right
REBUILD = """No texts for the real stories at {path}.

The stories are third-party copyright, so only their labels are in the repository. To rebuild:
for each line of {labels} open its "url" (an address ending in #name is one story of a page
telling several), keep the story's text as it was labelled (the case study itself, without the
page around it), and write one line {{"url": ..., "text": ...}} per story to {path}.
A story whose text no longer matches its "sha256" (the page changed) is reported and left out.
Give the file with --texts PATH or STORYBANK_REAL_STORIES=PATH."""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    """The committed labels; a line without an address, a hash, a split or labels is an error."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not (row.get("url") and row.get("sha256") and row.get("split") in ("tune", "frozen") and row.get("labels")):
            raise ValueError(f"{path.name}: line {number}: needs url, sha256, split (tune or frozen) and labels")
        rows.append(row)
    return rows


def examples(texts_path: Path, split: str) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Labelled examples of a split with their texts, and the addresses missing or changed."""
    texts = {}
    for line in texts_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts[row["url"]] = row["text"]
    chosen, missing, changed = [], [], []
    for row in read_labels():
        if split != "all" and row["split"] != split:
            continue
        text = texts.get(row["url"])
        if text is None:
            missing.append(row["url"])
        elif text_hash(text) != row["sha256"]:
            changed.append(row["url"])
        else:
            chosen.append({"url": row["url"], "text": text, "labels": row["labels"]})
    return chosen, missing, changed


def calibrate(chosen: list[dict[str, Any]]) -> dict[tuple[str, str], list[int]]:
    """For every (basis, domain) and (basis, "*"): [right, readings] over pairs both marked present."""
    cells: dict[tuple[str, str], list[int]] = {}
    for example, suggestions in zip(chosen, tag_texts(e["text"] for e in chosen), strict=True):
        for s in suggestions:
            gold = example["labels"].get(s.domain)
            if gold is None:
                continue
            for key in ((s.basis, s.domain), (s.basis, "*")):
                cell = cells.setdefault(key, [0, 0])
                cell[0] += s.reading == gold
                cell[1] += 1
    return cells


def candidates(cells: dict[tuple[str, str], list[int]]) -> list[tuple[str, str]]:
    """The readings right at least TRUSTED_PRECISION of the time, often enough to mean something."""
    return [key for key, (right, total) in sorted(cells.items()) if total >= MIN_SUPPORT and right / total >= TRUSTED_PRECISION]


def confirm(texts_path: Path) -> int:
    """Measure the tune split's candidates once on the frozen split; only what holds there is offered."""
    tune, _, _ = examples(texts_path, "tune")
    frozen, missing, changed = examples(texts_path, "frozen")
    if missing or changed:
        print(f"The frozen split is incomplete ({len(missing)} without a text, {len(changed)} changed): not measured.")
        return 2
    tuned, held = calibrate(tune), calibrate(frozen)
    rows = []
    for basis, domain in candidates(tuned):
        right, total = held.get((basis, domain), [0, 0])
        rows.append(
            {
                "basis": basis,
                "domain": domain,
                "right": right,
                "suggested": total,
                "tune_right": tuned[basis, domain][0],
                "tune_suggested": tuned[basis, domain][1],
            }
        )
        verdict = "offered" if total and right / total >= TRUSTED_PRECISION else "not offered"
        print(f"{basis} {domain}: tune {tuned[basis, domain][0]}/{tuned[basis, domain][1]}, frozen {right}/{total}: {verdict}")
    # Every candidate is written with its frozen counts; stories.direction offers only those holding up.
    (frameworks_dir() / TRUST_FILE).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return 0


def report(chosen: list[dict[str, Any]]) -> None:
    result = evaluate(chosen)
    print(f"{'domain':<20} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}")
    for domain, row in result["per_domain"].items():
        print(f"{domain:<20} {row['precision']:>6.3f} {row['recall']:>6.3f} {row['f1']:>6.3f} {row['support']:>4}")
    micro = result["micro"]
    print(f"{'presence micro':<20} {micro['precision']:>6.3f} {micro['recall']:>6.3f} {micro['f1']:>6.3f}")
    offered = result["suggested_direction"]
    precision = "none offered" if offered["precision"] is None else f"{offered['precision']:.3f}"
    print(
        f"suggested directions: precision {precision} ({offered['right']} of {offered['suggested']} right), "
        f"coverage {offered['coverage']:.3f} of {result['direction_pairs']} pairs both marked"
    )
    print(f"the rules' own reading (not offered): accuracy {result['direction_accuracy']:.3f}")
    golds = Counter(v for e in chosen for v in e["labels"].values())
    print(f"labelled directions: {dict(golds)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=Path, default=os.environ.get("STORYBANK_REAL_STORIES"), help="the stories' texts (JSONL)")
    parser.add_argument("--split", choices=("tune", "frozen", "all"), default="tune")
    parser.add_argument("--calibrate", action="store_true", help="precision of each kind of reading (tune split only)")
    parser.add_argument(
        "--confirm",
        action="store_true",
        help=f"score the readings trusted on the tune split, once, on the frozen split, and write frameworks/{TRUST_FILE}",
    )
    args = parser.parse_args()
    if args.texts is None or not Path(args.texts).is_file():
        print(REBUILD.format(path=args.texts or "(no file given)", labels=LABELS.relative_to(ROOT)), file=sys.stderr)
        return 2
    if args.calibrate and args.split != "tune":
        print("Calibrate on the tune split only: the frozen split is scored once, never tuned on.", file=sys.stderr)
        return 2
    if args.confirm:
        return confirm(Path(args.texts))
    chosen, missing, changed = examples(Path(args.texts), args.split)
    print(f"{args.split}: {len(chosen)} stories scored; {len(missing)} without a text, {len(changed)} changed since labelled")
    for url in changed:
        print(f"  changed: {url}")
    if args.calibrate:
        cells = calibrate(chosen)
        print(f"{'basis':<18} {'domain':<20} {'right':>5} {'of':>4} {'prec':>6}")
        for (basis, domain), (right, total) in sorted(
            cells.items(), key=lambda item: (item[0][0], item[0][1] != "*", item[0][1])
        ):
            mark = "  candidate" if total >= MIN_SUPPORT and right / total >= TRUSTED_PRECISION else ""
            print(f"{basis:<18} {domain:<20} {right:>5} {total:>4} {right / total:>6.3f}{mark}")
        return 0
    report(chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
