"""Board case studies: a presenter's framing and pull quotes around a story the board may see.

The board reads a story only as `stories.identity.published_version` gives it, and only while
`publishable(..., BOARD, today)` allows it, so both are checked again on every read and write
(consent may have changed since the case study was drafted). Pull quotes are always stored as a
slice of that published text, never as what was typed, so a quote cannot bring back a hidden name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.consent import ANONYMOUS, BOARD, LABELS, NAMED, PSEUDONYM, Decision, publishable
from stories.db import write_transaction
from stories.identity import PublishedVersion, names_not_shown, published_version
from stories.records import get_story, list_stories
from stories.story import Story
from stories.text import find_words
from stories.validation import Invalid, Problems, optional_text, required_text, whole_number

MAX_TITLE = 200
MAX_CONTEXT = 3000
MAX_QUOTES = 8
MIN_QUOTE, MAX_QUOTE = 3, 600
# Decision 5: no priced proxies. A currency sign or code next to a number is a money value
# ("pounds" alone is left out: "I lost two stone, 28 pounds" is a health outcome, not a price).
MONEY = re.compile(r"[£$€]\s*\d|\b(?:GBP|EUR|USD)\s*\d|\d\s*(?:GBP|EUR|USD|quid)\b", re.IGNORECASE)


class Refused(Exception):
    """The board may not see this story (or this case study) today; nothing is shown or exported."""


@dataclasses.dataclass(frozen=True)
class Quote:
    start: int
    end: int
    text: str


@dataclasses.dataclass(frozen=True)
class BoardStory:
    """A story as the board would read it today, with the decision that allows it (or not)."""

    story: Story
    version: PublishedVersion
    decision: Decision

    @property
    def identity_level(self) -> str:
        consent = self.story.consent
        return consent.identity_level if consent else ANONYMOUS

    @property
    def identity_label(self) -> str:
        return LABELS[self.identity_level]

    @property
    def named(self) -> bool:
        return self.identity_level == NAMED

    @property
    def kind(self) -> str:
        """Only a named identity level makes a "named case study"."""
        return "Named case study" if self.named else f"Case study ({self.identity_label.lower()})"

    @property
    def credit(self) -> str:
        storyteller = self.version.storyteller
        if storyteller and self.identity_level == PSEUDONYM:
            return f"Told by {storyteller} (a pseudonym)"
        return f"Told by {storyteller}" if storyteller else "Told anonymously"


def board_story(db: sqlite_utils.Database, story_id: int, organisation_id: int, today: dt.date) -> BoardStory | None:
    """None when the story is missing or another organisation's (indistinguishable on purpose)."""
    story = get_story(db, story_id, organisation_id=organisation_id)
    if story is None:
        return None
    version = published_version(story)
    decision = publishable(story.state(not version.unresolved_names), story.consent, BOARD, today)
    return BoardStory(story, version, decision)


def board_stories(db: sqlite_utils.Database, organisation_id: int, today: dt.date) -> list[BoardStory]:
    """This organisation's stories that the board may see today."""
    # Only signed-off stories can pass `publishable` for the board: skip the rest unread.
    signed_off = list_stories(db, organisation_id, status="approved")
    candidates = (board_story(db, row["id"], organisation_id, today) for row in signed_off)
    return [board for board in candidates if board is not None and board.decision.allowed]


def require_board(board: BoardStory) -> None:
    if not board.decision.allowed:
        raise Refused(f"This story cannot go to the board today: {board.decision.reason}.")


def get_case_study(db: sqlite_utils.Database, case_study_id: int, organisation_id: int) -> dict[str, Any] | None:
    rows = list(
        db.query(CASE_STUDY_SQL + " WHERE case_studies.id = ? AND stories.organisation_id = ?", [case_study_id, organisation_id])
    )
    return _loaded(rows[0]) if rows else None


def list_case_studies(db: sqlite_utils.Database, organisation_id: int) -> list[dict[str, Any]]:
    """Every case study on this organisation's stories, most recently changed first."""
    rows = db.query(
        CASE_STUDY_SQL + " WHERE stories.organisation_id = ? ORDER BY case_studies.updated_at DESC, case_studies.id DESC",
        [organisation_id],
    )
    return [_loaded(row) for row in rows]


def check_framing(board: BoardStory, data: Mapping[str, Any]) -> dict[str, str]:
    """The presenter's title and context, or Invalid listing every problem."""
    problems = Problems()
    title = required_text(problems, data, "title", "Title", MAX_TITLE, missing="Give the case study a title for the board.")
    context = optional_text(problems, data, "context", "Context", MAX_CONTEXT)
    for field, label, value in (("title", "The title", title), ("context", "The context", context)):
        # The presenter's words are held to the storyteller's consent as much as the story is, by
        # what the board may read: an answer that read the hidden names would confirm a right guess.
        strangers = names_not_shown(board.story, board.version, value) if value else []
        if strangers:
            problems.add(
                field,
                f"{label} names {_listed(strangers)}, not named in the story as the board reads it. "
                "A case study may name people only as the story shown here does"
                + (f" (the storyteller as {board.version.storyteller})." if board.version.storyteller else "."),
            )
        if value and MONEY.search(value):
            problems.add(
                field,
                f"{label} gives a money value. Storybank keeps evidence in people's words, not priced "
                "proxies: please describe the change instead.",
            )
    problems.raise_if_any()
    return {"title": title, "context": context}


def _listed(names: list[str]) -> str:
    quoted = [f"“{name}”" for name in names[:5]]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def start_case_study(db: sqlite_utils.Database, board: BoardStory, data: Mapping[str, Any], *, user_id: int, actor: str) -> int:
    require_board(board)
    framing = check_framing(board, data)
    stamp = now_iso()
    with write_transaction(db):
        case_study_id = db.execute(
            "INSERT INTO case_studies (story_id, created_by, title, context, quotes, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, '[]', ?, ?)",
            [board.story.id, user_id, framing["title"], framing["context"], stamp, stamp],
        ).lastrowid
        audit.record(db, actor, "case_study.start", board.story.id, case_study_id=case_study_id)
    return case_study_id


def update_framing(
    db: sqlite_utils.Database, case_study_id: int, board: BoardStory, data: Mapping[str, Any], *, actor: str
) -> None:
    require_board(board)
    framing = check_framing(board, data)
    with write_transaction(db):
        db.execute(
            "UPDATE case_studies SET title = ?, context = ?, updated_at = ? WHERE id = ?",
            [framing["title"], framing["context"], now_iso(), case_study_id],
        )
        audit.record(db, actor, "case_study.framing", board.story.id, case_study_id=case_study_id)


def find_quote(body: str, data: Mapping[str, Any]) -> Quote:
    """The selected or pasted words as an exact slice of the published text, or Invalid.

    Offsets from a selection are trusted only if they point at the same words; otherwise the words
    are looked up, allowing for line breaks a browser turns into spaces when text is copied.
    """
    words = str(data.get("quote") or "").split()
    if len(" ".join(words)) < MIN_QUOTE:
        raise Invalid({"quote": "Select the words to quote in the story, or paste them exactly as they appear there."})
    if len(" ".join(words)) > MAX_QUOTE:
        raise Invalid({"quote": f"A pull quote is at most {MAX_QUOTE} characters; choose a shorter passage."})
    # Of several identical passages, the one the presenter selected.
    span = find_words(body, " ".join(words), near=whole_number(data.get("start")))
    if span is None:
        raise Invalid(
            {
                "quote": "Those words are not in the story as the board will read it. A pull quote must be the "
                "storyteller's exact words from the text shown here (names already hidden)."
            }
        )
    return Quote(*span, body[span[0] : span[1]])


def add_quote(db: sqlite_utils.Database, case_study_id: int, board: BoardStory, data: Mapping[str, Any], *, actor: str) -> Quote:
    require_board(board)
    quote = find_quote(board.version.body, data)
    with write_transaction(db):
        quotes = _stored_quotes(db, case_study_id)
        if any((q.start, q.end) == (quote.start, quote.end) for q in quotes):
            raise Invalid({"quote": "That passage is already a pull quote."})
        if len(quotes) >= MAX_QUOTES:
            raise Invalid({"quote": f"A case study has at most {MAX_QUOTES} pull quotes; remove one first."})
        _save_quotes(db, case_study_id, sorted([*quotes, quote], key=lambda q: q.start))
        audit.record(db, actor, "case_study.quote_added", board.story.id, case_study_id=case_study_id)
    return quote


def remove_quote(
    db: sqlite_utils.Database, case_study: Mapping[str, Any], start: int | None, end: int | None, *, actor: str
) -> bool:
    """Remove the quote at these offsets; False if it was already gone."""
    with write_transaction(db):
        quotes = _stored_quotes(db, case_study["id"])
        kept = [q for q in quotes if (q.start, q.end) != (start, end)]
        if len(kept) == len(quotes):
            return False
        _save_quotes(db, case_study["id"], kept)
        audit.record(db, actor, "case_study.quote_removed", case_study["story_id"], case_study_id=case_study["id"])
    return True


def delete_case_study(db: sqlite_utils.Database, case_study: Mapping[str, Any], *, actor: str) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM case_studies WHERE id = ?", [case_study["id"]])
        audit.record(db, actor, "case_study.delete", case_study["story_id"], case_study_id=case_study["id"])


def current_quotes(quotes: list[Quote], body: str) -> tuple[list[Quote], list[Quote]]:
    """(quotes still in the published text, re-anchored; quotes it no longer contains).

    A later name decision or a more private identity level changes the published text: a quote
    taken before then may now show words the board must not see, so it is never carried over.
    """
    kept, gone = [], []
    for quote in quotes:
        if body[quote.start : quote.end] == quote.text:
            kept.append(quote)
        elif (at := body.find(quote.text)) >= 0:
            kept.append(Quote(at, at + len(quote.text), quote.text))
        else:
            gone.append(quote)
    return kept, gone


def ready_for_export(board: BoardStory, case_study: Mapping[str, Any]) -> list[Quote]:
    """The quotes to export, or Refused saying why nothing may be exported."""
    require_board(board)
    quotes, gone = current_quotes(case_study["quotes"], board.version.body)
    if gone:
        raise Refused(
            f"Pull quotes no longer in the story as the board may now read it: {len(gone)} (its consent or a "
            "name decision changed since they were picked). Remove them before exporting."
        )
    return quotes


def quote_chunks(body: str, quotes: list[Quote]) -> list[tuple[str, bool]]:
    """The published text cut where quotes begin and end, each piece saying whether it is quoted."""
    cuts = sorted({0, len(body), *(q.start for q in quotes), *(q.end for q in quotes)})
    return [(body[a:b], any(q.start <= a and b <= q.end for q in quotes)) for a, b in zip(cuts, cuts[1:], strict=False) if a < b]


def _loaded(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "quotes": [Quote(**q) for q in json.loads(row["quotes"])]}


def _stored_quotes(db: sqlite_utils.Database, case_study_id: int) -> list[Quote]:
    row = db.execute("SELECT quotes FROM case_studies WHERE id = ?", [case_study_id]).fetchone()
    if row is None:
        raise Invalid({"case_study": "There is no such case study."})
    return [Quote(**q) for q in json.loads(row[0])]


def _save_quotes(db: sqlite_utils.Database, case_study_id: int, quotes: list[Quote]) -> None:
    db.execute(
        "UPDATE case_studies SET quotes = ?, updated_at = ? WHERE id = ?",
        [json.dumps([dataclasses.asdict(q) for q in quotes]), now_iso(), case_study_id],
    )


CASE_STUDY_SQL = (
    "SELECT case_studies.*, users.display_name AS created_by_name FROM case_studies"
    " JOIN stories ON stories.id = case_studies.story_id"
    " JOIN users ON users.id = case_studies.created_by"
)
