"""The word lists the text rules read, as data: stories/data/, one entry a line, `#` starts a comment."""

from __future__ import annotations

import functools
from pathlib import Path

DATA = Path(__file__).parent / "data"


def read_list(name: str) -> list[str]:
    """The entries of one list in stories/data/, in order ("given_names.txt", "direction/now_verbs.txt")."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip().replace("’", "'") for line in lines if line.strip() and line[0] != "#"]


@functools.cache
def word_set(name: str) -> frozenset[str]:
    """One short list ("honorifics", "direction/now_verbs") as a set, read once."""
    return frozenset(read_list(f"{name}.txt"))
