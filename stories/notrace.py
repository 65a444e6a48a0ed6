"""Scan the raw bytes of every file in an instance for words that must be gone, and name what cannot be scanned."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from stories import stored_files
from stories.instance import Instance


def find_traces(root: Path, texts: Iterable[str]) -> list[tuple[Path, str]]:
    """(file, text) for every file under root whose bytes contain a text, in any letter case."""
    needles = {text: [form.lower() for form in _encodings(text)] for text in texts if text.strip()}
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        hits.extend((path, text) for text, forms in needles.items() if any(form in data for form in forms))
    return hits


def _encodings(text: str) -> list[bytes]:
    # SQLite stores text as UTF-8 here, but a UTF-16 copy (e.g. from another tool) must not hide a name.
    return [text.encode("utf-8"), text.encode("utf-16-le")]


def unaccounted_files(instance: Instance) -> list[tuple[Path, str]]:
    """Recordings and forms no story refers to (their words cannot be searched for), each with why it is there."""
    with instance.connection() as db:
        strays = stored_files.unaccounted_files(db, instance.root)
    return [
        (
            path,
            f"an upload no story has claimed (uploaded {uploaded_at}; deleted {stored_files.UNCLAIMED_HOURS} hours after)"
            if uploaded_at
            else "no story refers to it",
        )
        for path, uploaded_at in strays
    ]
