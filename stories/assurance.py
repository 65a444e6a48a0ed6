"""The assurance chain: how we know a story is true, and how an outcome is linked to what produced it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.clock import today as utc_today
from stories.db import write_transaction
from stories.validation import Invalid, Problems, one_of, optional_text, parse_date, whole_number

MEMBER_CHECK, SECOND_PERSON = "member_check", "second_person"
MEMBER_CHECK_METHODS = {
    "read_back": "Read back to the storyteller in person",
    "phone": "Read back over the phone",
    "printed_copy": "The storyteller read a printed copy",
    "recording_played": "The recording and transcript were played back",
}
OWN_PAGE = "own_page"  # the storyteller pressed "this is right" on their own page; never a worker's choice
METHOD_LABELS = {**MEMBER_CHECK_METHODS, OWN_PAGE: "The storyteller read it on their own page"}
LEVELS = {
    (): "Not yet verified",
    (MEMBER_CHECK,): "Checked with the storyteller",
    (SECOND_PERSON,): "Verified by a second person",
    (MEMBER_CHECK, SECOND_PERSON): "Checked with the storyteller and verified by a second person",
}
CONTRIBUTIONS = {"inherent": "From the core service", "additional": "From an added commitment"}


def record_member_check(
    db: sqlite_utils.Database,
    story_id: int,
    data: Mapping[str, Any],
    *,
    actor: str,
    user_id: int | None,
    recorded_by: str,
    today: dt.date | None = None,
) -> int:
    """The storyteller confirmed the written story reads true: when, and how."""
    problems = Problems()
    method = one_of(problems, data, "method", "How the story was checked", MEMBER_CHECK_METHODS)
    checked_on = _date_not_future(problems, data, "verified_on", "Date checked", today or utc_today())
    note = optional_text(problems, data, "note", "Note", 2000)
    problems.raise_if_any()
    return _add(db, story_id, MEMBER_CHECK, method, checked_on, user_id, recorded_by, note, actor)


def record_own_check(db: sqlite_utils.Database, story_id: int, *, actor: str) -> int:
    """The storyteller confirmed, on their own page, that the story reads true (today)."""
    return _add(db, story_id, MEMBER_CHECK, OWN_PAGE, utc_today(), None, "the storyteller", "", actor)


def record_second_person(
    db: sqlite_utils.Database,
    story_id: int,
    data: Mapping[str, Any],
    *,
    actor: str,
    user_id: int,
    verifier: str,
    today: dt.date | None = None,
) -> int:
    """A second person (not whoever recorded the story) verified it, perhaps against supporting evidence."""
    problems = Problems()
    checked_on = _date_not_future(problems, data, "verified_on", "Date verified", today or utc_today())
    note = optional_text(problems, data, "note", "Supporting evidence", 2000)
    recorded_by = db.execute("SELECT created_by FROM stories WHERE id = ?", [story_id]).fetchone()
    if recorded_by and recorded_by[0] == user_id:
        problems.add("verifier", "A second person must verify the story: not the person who recorded it.")
    problems.raise_if_any()
    return _add(db, story_id, SECOND_PERSON, "second_person", checked_on, user_id, verifier, note, actor)


def verification_level(kinds: Iterable[str]) -> str:
    given = set(kinds)
    return LEVELS[tuple(kind for kind in (MEMBER_CHECK, SECOND_PERSON) if kind in given)]


def verifications(db: sqlite_utils.Database, story_id: int) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM verifications WHERE story_id = ? ORDER BY verified_on, id", [story_id]))


def link_outcome(
    db: sqlite_utils.Database,
    story_id: int,
    tag_id: int,
    data: Mapping[str, Any],
    *,
    actor: str,
    intervention_ids: Iterable[int],
) -> None:
    """Record which intervention an outcome came from, inherent or additional, in the storyteller's words."""
    problems = Problems()
    raw = str(data.get("intervention_id") or "").strip()
    intervention_id = whole_number(raw)
    if raw and intervention_id not in set(intervention_ids):
        problems.add("intervention_id", "Choose one of the interventions linked to this story.")
        intervention_id = None
    contribution = data.get("contribution") or None
    if contribution is not None and contribution not in CONTRIBUTIONS:
        problems.add("contribution", "Choose whether the change came from the core service or an added commitment.")
    statement = optional_text(problems, data, "contribution_statement", "Contribution, in the storyteller's words", 1000)
    problems.raise_if_any()
    with write_transaction(db):
        changed = db.execute(
            "UPDATE outcome_tags SET intervention_id = ?, contribution = ?, contribution_statement = ?"
            " WHERE id = ? AND story_id = ?",
            [intervention_id, contribution, statement or None, tag_id, story_id],
        ).rowcount
        if not changed:
            raise Invalid({"tag": "That outcome is not on this story."})
        audit.record(db, actor, "story.outcome_linked", story_id, tag_id=tag_id)


def _add(
    db: sqlite_utils.Database,
    story_id: int,
    kind: str,
    method: str,
    on: dt.date,
    user_id: int | None,
    by: str,
    note: str,
    actor: str,
) -> int:
    with write_transaction(db):
        if not db.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone():
            raise Invalid({"story": "There is no such story."})
        verification_id = db.execute(
            "INSERT INTO verifications (story_id, kind, method, verified_on, user_id, verified_by, note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [story_id, kind, method, on.isoformat(), user_id, by, note, now_iso()],
        ).lastrowid
        audit.record(db, actor, f"story.{kind}", story_id)
    return verification_id


def _date_not_future(problems: Problems, data: Mapping[str, Any], field: str, label: str, today: dt.date) -> dt.date:
    value = parse_date(problems, data, field, label, required=True)
    if value and value > today:
        problems.add(field, f"{label} cannot be in the future.")
    return value or today
