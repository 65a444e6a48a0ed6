"""Most Significant Change rounds: a panel shortlists stories in one domain, chooses one, and says why.

The choice and its reason are published with the story (where consent allows) and shown to the
worker who recorded it, so the storyteller can hear what their story meant.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.consent import current_consent
from stories.db import write_transaction
from stories.outcomes import domain_label, person_level_domains
from stories.validation import Invalid, Problems, optional_text, required_text, whole_number


def create_round(db: sqlite_utils.Database, data: dict[str, Any], *, organisation_id: int, user_id: int, actor: str) -> int:
    problems = Problems()
    domain = str(data.get("domain") or "")
    if domain not in person_level_domains():
        problems.add("domain", "Choose the wellbeing domain this round is about.")
    title = required_text(problems, data, "title", "Round name", 120)
    panel = optional_text(problems, data, "panel", "Panel members", 500)
    problems.raise_if_any()
    with write_transaction(db):
        round_id = db.execute(
            "INSERT INTO msc_rounds (organisation_id, domain, title, panel, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [organisation_id, domain, title, panel, user_id, now_iso()],
        ).lastrowid
        audit.record(db, actor, "msc.round", None, round_id=round_id)
    return round_id


def get_round(db: sqlite_utils.Database, round_id: int, organisation_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM msc_rounds WHERE id = ? AND organisation_id = ?", [round_id, organisation_id]))
    if not rows:
        return None
    item = rows[0]
    item["domain_label"] = domain_label(item["domain"])
    item["shortlist"] = list(
        db.query(
            "SELECT stories.id, stories.title, stories.told_on FROM msc_shortlist JOIN stories ON stories.id = story_id"
            " WHERE round_id = ? ORDER BY msc_shortlist.added_at",
            [round_id],
        )
    )
    choice = list(db.query("SELECT * FROM msc_choices WHERE round_id = ?", [round_id]))
    item["choice"] = choice[0] if choice else None
    return item


def list_rounds(db: sqlite_utils.Database, organisation_id: int) -> list[dict[str, Any]]:
    rounds = list(
        db.query(
            "SELECT msc_rounds.*, msc_choices.story_id AS chosen_story_id, stories.title AS chosen_title,"
            " (SELECT count(*) FROM msc_shortlist WHERE round_id = msc_rounds.id) AS shortlisted"
            " FROM msc_rounds LEFT JOIN msc_choices ON msc_choices.round_id = msc_rounds.id"
            " LEFT JOIN stories ON stories.id = msc_choices.story_id"
            " WHERE msc_rounds.organisation_id = ? ORDER BY msc_rounds.id DESC",
            [organisation_id],
        )
    )
    for item in rounds:
        item["domain_label"] = domain_label(item["domain"])
    return rounds


def eligible_stories(db: sqlite_utils.Database, round_: dict[str, Any]) -> list[dict[str, Any]]:
    """The organisation's signed-off stories with a confirmed outcome in the round's domain, consent in force."""
    rows = list(
        db.query(
            "SELECT DISTINCT stories.id, stories.title, stories.told_on FROM stories"
            " JOIN outcome_tags ON outcome_tags.story_id = stories.id"
            " WHERE stories.organisation_id = ? AND stories.status = 'approved' AND outcome_tags.domain = ?"
            " AND outcome_tags.status = 'confirmed'"
            " AND stories.id NOT IN (SELECT story_id FROM msc_shortlist WHERE round_id = ?) ORDER BY stories.told_on DESC",
            [round_["organisation_id"], round_["domain"], round_["id"]],
        )
    )
    return [row for row in rows if _consent_in_force(db, row["id"])]


def shortlist(db: sqlite_utils.Database, round_: dict[str, Any], story_id: int, *, actor: str) -> None:
    if round_["choice"]:
        raise Invalid({"story": "This round has already chosen its story."})
    if story_id not in {row["id"] for row in eligible_stories(db, round_)}:
        raise Invalid({"story": "That story cannot be shortlisted in this round."})
    db.execute("INSERT INTO msc_shortlist (round_id, story_id, added_at) VALUES (?, ?, ?)", [round_["id"], story_id, now_iso()])
    audit.record(db, actor, "msc.shortlist", story_id, round_id=round_["id"])


def choose(db: sqlite_utils.Database, round_: dict[str, Any], data: dict[str, Any], *, user_id: int, actor: str) -> None:
    """Record the panel's choice and, in the panel's words, why it is the most significant change."""
    problems = Problems()
    reason = required_text(problems, data, "reason", "Why the panel chose it", 2000)
    story_id = whole_number(data.get("story_id"))
    if story_id not in {row["id"] for row in round_["shortlist"]}:
        problems.add("story_id", "Choose one of the shortlisted stories.")
    if round_["choice"]:
        problems.add("story_id", "This round has already chosen its story.")
    problems.raise_if_any()
    with write_transaction(db):
        db.execute(
            "INSERT INTO msc_choices (round_id, story_id, reason, chosen_by, chosen_at) VALUES (?, ?, ?, ?, ?)",
            [round_["id"], story_id, reason, user_id, now_iso()],
        )
        audit.record(db, actor, "msc.choose", story_id, round_id=round_["id"])


def choices_for_story(db: sqlite_utils.Database, story_id: int) -> list[dict[str, Any]]:
    rows = list(
        db.query(
            "SELECT msc_choices.*, msc_rounds.domain, msc_rounds.title, msc_rounds.panel FROM msc_choices"
            " JOIN msc_rounds ON msc_rounds.id = msc_choices.round_id WHERE msc_choices.story_id = ? ORDER BY chosen_at",
            [story_id],
        )
    )
    for row in rows:
        row["domain_label"] = domain_label(row["domain"])
    return rows


def unseen_choices(db: sqlite_utils.Database, user_id: int) -> list[dict[str, Any]]:
    """Choices of stories this worker recorded that they have not yet passed on."""
    rows = list(
        db.query(
            "SELECT msc_choices.*, msc_rounds.domain, stories.title AS story_title FROM msc_choices"
            " JOIN msc_rounds ON msc_rounds.id = msc_choices.round_id JOIN stories ON stories.id = msc_choices.story_id"
            " WHERE stories.created_by = ? AND msc_choices.seen_by_recorder_at IS NULL",
            [user_id],
        )
    )
    for row in rows:
        row["domain_label"] = domain_label(row["domain"])
    return rows


def mark_seen(db: sqlite_utils.Database, round_id: int, *, user_id: int, actor: str) -> None:
    changed = db.execute(
        "UPDATE msc_choices SET seen_by_recorder_at = ? WHERE round_id = ? AND seen_by_recorder_at IS NULL"
        " AND story_id IN (SELECT id FROM stories WHERE created_by = ?)",
        [now_iso(), round_id, user_id],
    ).rowcount
    if changed:
        audit.record(db, actor, "msc.seen", None, round_id=round_id)


def published_note(choices: list[dict[str, Any]]) -> str | None:
    """How a story's selections read in the published file (panel members are not named there)."""
    if not choices:
        return None
    return " ".join(
        f"Chosen by a panel as the most significant change in {domain_label(c['domain']).lower()}"
        f" ({c['chosen_at'][:10]}): {c['reason']}"
        for c in choices
    )


def _consent_in_force(db: sqlite_utils.Database, story_id: int) -> bool:
    consent = current_consent(db.query("SELECT * FROM consent_events WHERE story_id = ?", [story_id]))
    return consent is not None and not consent.withdrawn
