"""Every bench runs, at a tiny size, and prints its figures: a bench is code, and code that is not run rots.

The figures' values are not checked (a tiny size measures nothing); that each bench gets as far as
printing every one of them is. bench/all.py's BENCHES says how each runs at the issues' sizes and at
a tiny one; a bench file not listed there fails here, so `make bench` never leaves one out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.all import BENCHES, Bench
from bench.figures import read

ROOT = Path(__file__).resolve().parent.parent
# What each bench must report, by the start of its figures' names.
EXPECTED = {
    "scale": [
        "full publish, cold",
        "full publish, warm",
        "Datasette search p95",
        "app story page p95",
        "app story list p95",
        "a sign-off reaches every published file",
    ],
    "rebuild_parts": ["full rebuild, parts timed"],
    "search": ["Datasette search page with 3 facets shown p95", "Datasette question page p95"],
    "pages": [
        "app story page, one user",
        "app story page p95",
        "app story list, one user",
        "app story list p95",
        "app story list, half-way page, one user",
        "app story list, half-way page p95",
    ],
    "withdrawal": ["withdrawal gone from Datasette, storybank withdraw", "withdrawal gone from Datasette, withdraw_story"],
    "transcribe": ["transcription real-time factor", "transcription word error rate", "transcription peak memory"],
    "reference_whisper": [
        "Storybank transcribes this many times faster than openai-whisper",
        "Storybank's speed over openai-whisper in CPU seconds",
        "word error rate, Storybank vs openai-whisper",
    ],
    "tag": ["outcome tagger speed"],
    "redact": [
        "name finding recall / precision, dev",
        "name finding recall / precision, held-out",
        "find_names speed",
        "redact speed",
    ],
    "clean_text": ["migration m011", "tags whose offsets no longer hold their words"],
    "form_likeness": ["signed forms told apart by a 8x8", "signed forms told apart by a 16x16"],
    "spoken_names": ["spoken surnames Whisper spelled as recorded"],
}


def test_every_bench_file_is_run_by_make_bench() -> None:
    # bench/real_stories.py scores the tagger on third-party texts kept outside the repository (none on a new
    # machine): tests/test_real_stories.py runs it on texts of its own instead.
    # bench/ctranslate2_weights.py is bench/reference_whisper.py's reader (tests/test_ctranslate2_weights.py).
    files = {path.stem for path in (ROOT / "bench").glob("*.py")} - {"all", "figures", "real_stories", "ctranslate2_weights"}
    assert files == {bench.name for bench in BENCHES}
    assert set(EXPECTED) == files


@pytest.fixture(scope="module")
def scale_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tiny scale instance the search and withdrawal benches measure, and what bench/scale.py printed."""
    data = tmp_path_factory.mktemp("scale")
    return data, run(BENCHES[0], data, tmp_path_factory.mktemp("scratch"))


def run(bench: Bench, data: Path, scratch: Path) -> str:
    values = {"stories": "40", "data": str(data), "instance": str(data / "instance"), "scratch": str(scratch)}
    args = [arg.format(**values) for arg in bench.tiny]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{bench.name}.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert read(done.stdout), (
        f"bench/{bench.name}.py printed no figures (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


# Each starts processes (the store's CLI, Datasette, the app); two make speech and transcribe it.
pytestmark = [pytest.mark.slow, pytest.mark.server]
WHISPER = {"transcribe", "spoken_names", "reference_whisper"}


@pytest.mark.parametrize(
    "bench", [pytest.param(b, id=b.name, marks=[pytest.mark.whisper] if b.name in WHISPER else []) for b in BENCHES]
)
def test_bench_runs_at_a_tiny_size_and_prints_its_figures(bench: Bench, scale_run: tuple[Path, str], tmp_path: Path) -> None:
    data, scale_output = scale_run
    output = scale_output if bench.name == "scale" else run(bench, data, tmp_path)
    names = [figure.figure for figure in read(output)]
    for expected in EXPECTED[bench.name]:
        assert any(name.startswith(expected) for name in names), f"bench/{bench.name}.py did not report {expected!r}: {names}"
    if bench.name == "reference_whisper":
        # openai-whisper hears the same words on the converted weights: the conversion is right.
        assert all(f.met for f in read(output) if f.figure.startswith("word error rate")), output[-3000:]
    if bench.name == "spoken_names":
        assert (tmp_path / "spoken_names.jsonl").exists()  # and not bench/data's, which only a person replaces


def test_make_bench_prints_one_table_with_targets_and_cores() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "all.py"), "--tiny", "--only", "tag", "--only", "clean_text"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout[done.stdout.index("| figure | target | measured | met | cores |") :]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    figures = [row.split(" | ")[0] for row in rows]
    assert [figure.split(",")[0] for figure in figures] == [
        "| outcome tagger speed (tag_texts)",
        "| migration m011 (text cleaned",
        "| tags whose offsets no longer hold their words after m011",
    ]
    assert all(row.endswith(f"| {len(os.sched_getaffinity(0))} |") for row in rows)
    assert "| 0 | yes |" in table  # a target met, beside its target
