"""Run every bench and print one table: figure, target, measured, met, and the machine's cores.

    make bench                                   # the issues' sizes: 100,000 stories and so on
    .venv/bin/python bench/all.py [--stories 100000] [--data DIR] [--only scale --only search ...]
    .venv/bin/python bench/all.py --tiny         # every bench at a tiny size, in a minute or two

Each bench runs as its own process, its own report shown as it goes; the table is made from the
figure lines they print (bench/figures.py). bench/scale.py builds the instance the search and
withdrawal benches then use; with --data DIR it is kept there and reused by the next run of the
same size (building 100,000 stories takes a few minutes). Figures measured while other work runs
on the machine are pessimistic: the load average is printed beside the table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import Figure, cores, load, read

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str  # bench/<name>.py
    full: tuple[str, ...]  # its arguments at the issues' sizes; {stories} and {instance} are filled in
    tiny: tuple[str, ...]  # at a size the test suite can afford (tests/test_benches.py)
    needs_instance: bool = False  # measured on the instance bench/scale.py built


BENCHES = (
    Bench(
        "scale",
        ("--stories", "{stories}", "--keep", "{data}"),
        ("--stories", "40", "--keep", "{data}", *"--users 3 --requests 4 --searches 20".split()),
    ),
    Bench("search", ("--instance", "{instance}"), ("--instance", "{instance}", "--requests", "10"), needs_instance=True),
    # Where a full rebuild's time goes, part by part (issue 18: a missed target is explained with a profile).
    Bench("rebuild_parts", ("--instance", "{instance}"), ("--instance", "{instance}"), needs_instance=True),
    Bench(
        "pages",
        ("--instance", "{instance}"),
        ("--instance", "{instance}", *"--users 3 --requests 4 --alone 3".split()),
        needs_instance=True,
    ),
    Bench(
        "withdrawal",
        ("--instance", "{instance}"),
        ("--instance", "{instance}", "--samples", "1", "--during", "1", "--timeout", "120"),
        needs_instance=True,
    ),
    Bench("transcribe", (), ("--clips", "1")),
    # Builds openai-whisper's environment (torch's CPU build) once in --data, or in ~/.cache without one.
    Bench("reference_whisper", ("--env", "{data}/reference-whisper"), ("--clips", "1", "--threads", "1")),
    Bench("tag", (), ("--words", "2000")),
    Bench("redact", (), ("--tiny",)),
    Bench("clean_text", ("--stories", "{stories}"), ("--stories", "20")),
    Bench("form_likeness", (), ()),
    # Writes its mentions to a scratch file: bench/data/spoken_names.jsonl changes only when run by hand.
    Bench(
        "spoken_names",
        ("--limit", "40", "--out", "{scratch}/spoken_names.jsonl"),
        ("--limit", "1", "--out", "{scratch}/spoken_names.jsonl"),
    ),
)


@dataclass
class Outcome:
    bench: Bench
    figures: list[Figure]
    exit_code: int
    seconds: float


def run(bench: Bench, *, tiny: bool, stories: int, data: Path, scratch: Path) -> Outcome:
    """Run one bench as its own process, its output passed through; returns the figures it printed."""
    values = {"stories": str(stories), "data": str(data), "instance": str(data / "instance"), "scratch": str(scratch)}
    args = [arg.format(**values) for arg in (bench.tiny if tiny else bench.full)]
    print(f"\n=== bench/{bench.name}.py {' '.join(args)}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / f"{bench.name}.py"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    process.wait()
    return Outcome(bench, read("".join(lines)), process.returncode, time.perf_counter() - started)


def table(outcomes: list[Outcome]) -> str:
    """One Markdown table (the README's figures are pasted from it)."""
    rows = [("figure", "target", "measured", "met", "cores")]
    for outcome in outcomes:
        for figure in outcome.figures:
            met = "" if figure.met is None else "yes" if figure.met else "NO"
            rows.append((figure.figure, figure.target or "-", figure.measured, met, str(cores())))
        if outcome.exit_code and not outcome.figures:
            rows.append((f"bench/{outcome.bench.name}.py", "-", f"failed (exit code {outcome.exit_code})", "NO", str(cores())))
    return "\n".join("| " + " | ".join(row) + " |" for row in [rows[0], ("---",) * 5, *rows[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000, help="stories in the scale instance (default 100,000)")
    parser.add_argument("--data", type=Path, help="keep the scale instance here and reuse it (default: a temporary folder)")
    parser.add_argument("--tiny", action="store_true", help="every bench at a tiny size (what the test suite runs)")
    parser.add_argument("--only", action="append", choices=[b.name for b in BENCHES], help="run only this bench (repeatable)")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    if any(b.needs_instance for b in chosen) and not any(b.name == "scale" for b in chosen):
        chosen.insert(0, BENCHES[0])  # the search and withdrawal benches need the instance it builds
    print(f"Machine: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="storybank-bench-") as temporary:
        scratch = Path(temporary)
        data = args.data.resolve() if args.data else scratch / "scale"
        outcomes = [run(b, tiny=args.tiny, stories=args.stories, data=data, scratch=scratch) for b in chosen]
    print(f"\n{'Tiny sizes: these figures only show the benches run' if args.tiny else 'Every bench'}; {load()}")
    print(table(outcomes))
    print(f"({sum(o.seconds for o in outcomes):.0f} s in all)")
    crashed = [o.bench.name for o in outcomes if not o.figures]
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
