"""Outcome tags: machine suggestions with provenance, and the people's decisions that make them evidence.

Only confirmed tags are published, and only with the storyteller's words that show them: an outcome
with no evidence words is a claim nobody can check, so it stays in the store (the reviewer is told
on the story page) and out of every published file and count. A person may accept, reject, change a
suggestion's direction, or add a tag of their own by selecting the words that show it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.db import write_transaction
from stories.outcomes import DEFAULT_FRAMEWORK, DIRECTIONS, domain_label
from stories.text import selected_span
from stories.validation import Invalid


def save_suggestions(
    db: sqlite_utils.Database,
    story_id: int,
    suggestions: Iterable[Mapping[str, Any]],
    *,
    framework: str,
    version: str,
    provenance: Mapping[str, Any],
) -> int:
    """Replace this framework's undecided machine suggestions; domains a person already decided are left alone."""
    stamp = now_iso()
    added = 0
    with write_transaction(db):
        db.execute(
            "DELETE FROM outcome_tags WHERE story_id = ? AND framework = ? AND origin = 'machine' AND status = 'suggested'",
            [story_id, framework],
        )
        decided = {
            row[0]
            for row in db.execute(
                "SELECT domain FROM outcome_tags WHERE story_id = ? AND framework = ? AND status != 'suggested'",
                [story_id, framework],
            )
        }
        for item in suggestions:
            if item["domain"] in decided:
                continue
            db.execute(
                "INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, direction_confidence,"
                ' start, "end", evidence, audio_start, audio_end, origin, confidence, rule, provenance, status, created_at)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'machine', ?, ?, ?, 'suggested', ?)",
                [
                    story_id,
                    framework,
                    version,
                    item["domain"],
                    item.get("direction"),  # None: the tagger is not trusted here, so the page asks what changed
                    item.get("direction_confidence"),
                    item["start"],
                    item["end"],
                    item["evidence"],
                    item.get("audio_start"),
                    item.get("audio_end"),
                    item.get("confidence"),
                    item.get("rule"),
                    json.dumps(dict(provenance), sort_keys=True),
                    stamp,
                ],
            )
            added += 1
        audit.record(db, "system:tagger", "story.tags_suggested", story_id, framework=framework, count=added)
    return added


@dataclasses.dataclass(frozen=True)
class TagChoice:
    """What the decisions form says about one tag: accept, reject or neither, and the direction shown."""

    tag_id: int
    decision: str | None  # "confirmed", "rejected", or None when neither was chosen
    direction: str | None


@dataclasses.dataclass(frozen=True)
class Saved:
    """What one save of the decisions form changed, to tell the person honestly."""

    accepted: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    redirected: tuple[str, ...] = ()  # confirmed before, now with another direction
    waiting: int = 0  # suggestions still without a decision

    def message(self) -> str:
        changes = (("accepted", self.accepted), ("rejected", self.rejected), ("direction changed", self.redirected))
        done = [f"{label}: {', '.join(domain_label(d) for d in domains)}" for label, domains in changes if domains]
        said = f"Outcome decisions saved ({'; '.join(done)})." if done else "No outcome decision changed, so nothing was saved."
        if self.waiting == 1:
            said += " 1 suggestion still waits for a decision."
        elif self.waiting:
            said += f" {self.waiting} suggestions still wait for a decision."
        return said


def decide_tags(
    db: sqlite_utils.Database, story_id: int, choices: Iterable[TagChoice], *, actor: str, user_id: int | None
) -> Saved:
    """Every decision from the story's one decisions form, saved together or, on any problem, not at all.

    A direction changed on a suggestion nobody accepted or rejected is a problem, not silently
    dropped: only a decision can carry it.
    """
    accepted, rejected, redirected, problems = [], [], [], {}
    with write_transaction(db):
        tags = {row["id"]: row for row in db.query("SELECT * FROM outcome_tags WHERE story_id = ?", [story_id])}
        for choice in choices:
            tag = tags.get(choice.tag_id)
            if tag is None:  # replaced by fresh suggestions since the page was loaded
                problems["tags"] = "Some suggestions were renewed since this page was loaded: check them again below."
                continue
            direction = choice.direction or tag["direction"]
            if direction is None and choice.decision != "confirmed":
                direction_ok = True  # nothing offered and nothing chosen: only accepting needs to know what changed
            else:
                direction_ok = direction in DIRECTIONS
            if not direction_ok:
                problems[f"tag-{tag['id']}"] = (
                    f"Choose what changed for {domain_label(tag['domain'])}: {', '.join(DIRECTIONS)}."
                    if direction is None
                    else f"Choose a direction: {', '.join(DIRECTIONS)}."
                )
            elif choice.decision is None:
                if tag["status"] == "suggested" and direction != tag["direction"]:
                    problems[f"tag-{tag['id']}"] = (
                        f"You chose “{direction}” for {domain_label(tag['domain'])}: choose Accept or Reject to save it."
                    )
            elif choice.decision not in ("confirmed", "rejected"):
                problems[f"tag-{tag['id']}"] = "Choose Accept or Reject."
            elif (choice.decision, direction) != (tag["status"], tag["direction"]):
                db.execute(
                    "UPDATE outcome_tags SET status = ?, direction = ?, decided_by = ?, decided_at = ? WHERE id = ?",
                    [choice.decision, direction, user_id, now_iso(), tag["id"]],
                )
                audit.record(db, actor, f"story.tag_{choice.decision}", story_id, tag_id=tag["id"])
                if choice.decision == tag["status"]:
                    redirected.append(tag["domain"])
                else:
                    (accepted if choice.decision == "confirmed" else rejected).append(tag["domain"])
        if problems:
            raise Invalid(problems)  # rolls every decision of this save back: none is half-saved
        waiting = db.execute(
            "SELECT count(*) FROM outcome_tags WHERE story_id = ? AND status = 'suggested'", [story_id]
        ).fetchone()[0]
    return Saved(tuple(accepted), tuple(rejected), tuple(redirected), waiting)


def add_tag(
    db: sqlite_utils.Database,
    story_id: int,
    *,
    domain: str,
    direction: str,
    start: int | None,
    end: int | None,
    actor: str,
    user_id: int | None,
    domains: Iterable[str],
    selected: str = "",
    framework: str = DEFAULT_FRAMEWORK,
    version: str = "",
) -> int:
    """A person's own tag on the words they selected: confirmed as it is made.

    The page sends the offsets of the selection and its words; the evidence is always exactly those
    words (stories.text.selected_span), never whatever now stands at stale offsets.
    """
    problems = {}
    if domain not in set(domains):
        problems["domain"] = "Choose the outcome domain these words show."
    if direction not in DIRECTIONS:
        problems["direction"] = f"Choose a direction: {', '.join(DIRECTIONS)}."
    with write_transaction(db):
        body = db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()
        if body is None:
            raise Invalid({"story": "There is no such story."})
        span = selected_span(body[0], start, end, selected)
        if span is None:
            problems["evidence"] = (
                "Select the words in the story that show this outcome (press and drag across them), then add the tag."
                if not selected.strip() and (start is None or end is None)
                else "The words you selected are not in the story as it is now (it changed since this page was "
                "loaded). Select them again."
            )
        if problems:
            raise Invalid(problems)
        start, end = span
        # A person's tag replaces any other tag for that domain: one tag per domain per story.
        db.execute("DELETE FROM outcome_tags WHERE story_id = ? AND framework = ? AND domain = ?", [story_id, framework, domain])
        tag_id = save_confirmed_tag(
            db, story_id, domain, direction, (start, end), body[0], framework=framework, version=version, decided_by=user_id
        )
        audit.record(db, actor, "story.tag_added", story_id, tag_id=tag_id)
    return tag_id


def save_confirmed_tag(
    db: sqlite_utils.Database,
    story_id: int,
    domain: str,
    direction: str,
    span: tuple[int | None, int | None],
    body: str,
    *,
    framework: str = DEFAULT_FRAMEWORK,
    version: str = "",
    decided_by: int | None = None,
) -> int:
    """Write a person's tag, confirmed as it is made, with the body's words at span as its evidence
    (none without a span). The caller holds the transaction and checks what it was given."""
    start, end = span
    evidence = body[start:end] if start is not None else None
    stamp = now_iso()
    return db.execute(
        'INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, start, "end", evidence, origin,'
        " status, decided_by, decided_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'person', 'confirmed', ?, ?, ?)",
        [story_id, framework, version, domain, direction, start, end, evidence, decided_by, stamp, stamp],
    ).lastrowid


EVIDENCE_WORD = re.compile(r"[^\W_]{2}")


def has_evidence(evidence: str | None) -> bool:
    """Whether a tag's evidence is words a reader can check: an outcome is published only with them.

    At least one word of two letters or digits: a "." or "&" is no words, and a lone "I" shows nothing."""
    return bool(evidence) and EVIDENCE_WORD.search(evidence) is not None


def evidence_span(body: str, tag: Mapping[str, Any]) -> tuple[int, int] | None:
    """Where a tag's evidence stands in the body: its offsets while they still hold, else the words found again.

    A transcript corrected after tagging moves the words; the evidence is the words, not the offsets.
    """
    evidence, start, end = tag["evidence"], tag["start"], tag["end"]
    if not evidence:
        return None
    if start is not None and end is not None and body[start:end] == evidence:
        return start, end
    at = body.find(evidence)
    return (at, at + len(evidence)) if at >= 0 else None
