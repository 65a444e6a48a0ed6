"""The app's story list a page at a time, newest told first, read from where the last page ended.

A page found by its number (OFFSET) read and threw away every story before it: 331 ms for page
1,000 of 100,000 stories (issue 18). Each page's links instead carry where it ends ("after" the
last story on it) or begins ("before" the first), so the next page is read from that point in the
list's index, as fast at page 1,000 as at page 1, and a story recorded meanwhile neither repeats nor
hides one while a person clicks through. A page asked for by number alone (a typed or bookmarked
?page=) is still found, by counting through the index only, never the stories' text.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import sqlite_utils

from stories.records import STORY_SQL, story_filter

_MARK = re.compile(r"(\d{4}-\d{2}-\d{2})_(\d{1,18})")  # told_on and id: "2025-03-14_812"
NEWEST_FIRST = " ORDER BY stories.told_on DESC, stories.id DESC"


@dataclasses.dataclass(frozen=True)
class Page:
    stories: list[dict[str, Any]]
    number: int  # 1 for the newest stories
    newer: str | None  # the mark to ask for the page before this one with (before=), None on the first page
    older: str | None  # the mark to ask for the page after it with (after=), None on the last page


def mark(story: dict[str, Any]) -> str:
    return f"{story['told_on']}_{story['id']}"


def read_mark(text: str | None) -> tuple[str, int] | None:
    """A mark from a page's link, or None for anything else (junk is the first page, never an error)."""
    found = _MARK.fullmatch(text or "")
    return (found[1], int(found[2])) if found else None


def story_page(
    db: sqlite_utils.Database,
    organisation_id: int,
    *,
    status: str | None,
    search: str,
    size: int,
    number: int = 1,
    after: str | None = None,
    before: str | None = None,
) -> Page:
    """The page after the story marked `after`, or before the one marked `before`, or else page `number`."""
    where, params = story_filter(organisation_id, status, search)
    if at := read_mark(after):
        rows = _beside(db, where, params, at, "<", NEWEST_FIRST, size + 1)
        if rows:
            return _page(rows, size, max(2, number), newer=True)
        number = 1  # nothing older any more (the last stories erased meanwhile): the newest, not an empty page
    if at := read_mark(before):
        rows = _beside(db, where, params, at, ">", " ORDER BY stories.told_on, stories.id", size + 1)
        if len(rows) > size:  # newer stories still before these: a page in the middle
            return Page(rows[:size][::-1], max(2, number), newer=mark(rows[size - 1]), older=mark(rows[0]))
        number = 1  # back at the newest (a few recorded meanwhile are on it too)
    # By number: the index alone is counted through to the page, then only its stories are read.
    ids = f"SELECT stories.id FROM stories{_joined(search)}{where}{NEWEST_FIRST} LIMIT ? OFFSET ?"
    rows = list(db.query(f"{STORY_SQL} WHERE stories.id IN ({ids}){NEWEST_FIRST}", [*params, size + 1, (number - 1) * size]))
    return _page(rows, size, number, newer=number > 1)


def _beside(
    db: sqlite_utils.Database, where: str, params: list[Any], at: tuple[str, int], side: str, order: str, limit: int
) -> list[dict[str, Any]]:
    """Stories on one side ("<" older, ">" newer) of the one marked `at`, read from the list's index."""
    sql = f"{STORY_SQL}{where} AND (stories.told_on, stories.id) {side} (?, ?){order} LIMIT ?"
    return list(db.query(sql, [*params, *at, limit]))


def _page(rows: list[dict[str, Any]], size: int, number: int, *, newer: bool) -> Page:
    shown = rows[:size]
    return Page(
        shown,
        number,
        newer=mark(shown[0]) if newer and shown else None,
        older=mark(shown[-1]) if len(rows) > size else None,
    )


def _joined(search: str) -> str:
    """The storytellers' references are read only for a search, as records.count_stories does."""
    return " JOIN storytellers ON storytellers.id = stories.storyteller_id" if search.strip() else ""
