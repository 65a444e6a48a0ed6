"""One line per measured figure, beside its target, which `bench/all.py` gathers into one table.

Each bench prints its own account for a person reading it, and for every figure the issues set a
target for, one line starting with MARK followed by JSON, so the table never parses prose.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

MARK = "bench-figure "


@dataclass(frozen=True)
class Figure:
    figure: str  # what was measured, in a reader's words, with its size ("at 100,000 stories")
    measured: str  # the value with its unit ("12.3 s", "p95 84 ms")
    target: str = ""  # the target in the same words ("<= 15 s"), or "" where none is set
    met: bool | None = None  # None where there is no target or it cannot be judged from one run

    def line(self) -> str:
        return MARK + json.dumps(asdict(self), ensure_ascii=False)


def report(figure: str, measured: str, target: str = "", met: bool | None = None) -> None:
    """Print one figure for the table (and for a person: the JSON is readable)."""
    print(Figure(figure, measured, target, met).line(), flush=True)


def read(output: str) -> list[Figure]:
    """Every figure a bench printed, in order."""
    return [Figure(**json.loads(line[len(MARK) :])) for line in output.splitlines() if line.startswith(MARK)]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {cores()} cores"
