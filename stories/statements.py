"""What people stated changed in a story: each domain's direction and who said so, kept with its provenance.

The worker who heard the story, and the storyteller beside them, know what changed; the tagger only
finds the words that show it (DESIGN decision 7). A statement is made when the story is recorded (the
form, or an import row: `outcome_<domain>` = improved, worsened, mixed or mentioned, and
`outcomes_said_by` = storyteller or worker). Each becomes a confirmed outcome tag awaiting its evidence
words, which an outcome cannot be published without (`outcome_tags.has_evidence`): the tagger proposes
the sentence that shows it (`evidence_proposals`, written by the tagging job), a person picks it or
selects other words. Where the tagger reads the story the opposite way, the page says so beside the
statement; nothing is changed for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.db import write_transaction
from stories.outcome_tags import evidence_span, save_confirmed_tag
from stories.outcomes import DEFAULT_FRAMEWORK, DIRECTIONS, domain_label
from stories.validation import Invalid, Problems, text

FIELD_PREFIX = "outcome_"  # a form's or an import row's outcome_<domain> field
SAID_BY_FIELD = "outcomes_said_by"
SAID_BY = ("storyteller", "worker")
# Who stands behind a published outcome, in the words the story page and the published rows use.
PROVENANCE = {"storyteller": "the storyteller said", "worker": "the worker judged", "reviewer": "a reviewer confirmed"}
OPPOSITE = {"improved": "worsened", "worsened": "improved"}  # only a plain contradiction is worth a notice

# Every outcome tag with who stands behind it (`said_by`, a key of PROVENANCE): the one rule, read by the
# story page and the publisher. A tag with the direction its domain's statement gave is the statement's (the
# storyteller said, the worker judged); a machine suggestion a person confirmed is a reviewer's; a person's
# own tag, or a stated one whose direction a person changed, is the worker's judgement.
TAGS_SQL = (
    "SELECT outcome_tags.*, CASE WHEN outcome_statements.direction = outcome_tags.direction THEN outcome_statements.said_by"
    " WHEN outcome_tags.origin = 'machine' THEN 'reviewer' ELSE 'worker' END AS said_by FROM outcome_tags"
    " LEFT JOIN outcome_statements ON outcome_statements.story_id = outcome_tags.story_id"
    " AND outcome_statements.framework = outcome_tags.framework AND outcome_statements.domain = outcome_tags.domain"
)


@dataclasses.dataclass(frozen=True)
class Statement:
    """One domain's change as a person stated it, and who said so."""

    domain: str
    direction: str
    said_by: str


@dataclasses.dataclass(frozen=True)
class Stated:
    """A statement beside what became of it: its tag's words, and the tagger's proposal for them."""

    statement: Statement
    tag_id: int | None  # the domain's confirmed tag now (None if a person rejected it)
    tag_direction: str | None  # its direction now: a person may have changed it
    evidence: str | None  # the words chosen for it, once a person has chosen them
    proposal_id: int | None
    proposed: str | None  # the sentence the tagger proposes
    proposed_audio: float | None
    reads_as: str | None  # the tagger's reading of the domain's direction in the story, when it gives one

    @property
    def label(self) -> str:
        return domain_label(self.statement.domain)

    @property
    def said(self) -> str:
        return PROVENANCE[self.statement.said_by]

    @property
    def contradicted(self) -> bool:
        """The story's words read the opposite way from the statement (improved against worsened)."""
        return self.reads_as is not None and OPPOSITE.get(self.statement.direction) == self.reads_as


def read_statements(problems: Problems, data: Mapping[str, Any], domains: Sequence[str]) -> tuple[Statement, ...]:
    """The outcomes a form or an import row states, with every problem added (an empty field states nothing)."""
    stated: list[tuple[str, str]] = []
    for key in sorted(k for k in data if isinstance(k, str) and k.startswith(FIELD_PREFIX)):
        domain, value = key[len(FIELD_PREFIX) :], text(data.get(key)).lower()
        if not value:
            continue
        if domain not in domains:  # no form can send this: an import row is told the exact codes
            codes = ", ".join(FIELD_PREFIX + d for d in domains)
            problems.add(key, f"There is no outcome domain “{domain}”: the outcome columns are {codes}.")
        elif value not in DIRECTIONS:
            problems.add(
                key,
                f"{domain_label(domain)}: “{value}” is not a change we record: write {', '.join(DIRECTIONS[:-1])}"
                f" or {DIRECTIONS[-1]}, or leave it empty.",
            )
        else:
            stated.append((domain, value))
    said_by = text(data.get(SAID_BY_FIELD)).lower()
    if not stated:
        return ()
    if not said_by:
        problems.add(SAID_BY_FIELD, "Say who said what changed: the storyteller themselves, or you judged it.")
        return ()
    if said_by not in SAID_BY:
        problems.add(SAID_BY_FIELD, f"“{said_by}” is not who can state an outcome: write storyteller or worker.")
        return ()
    return tuple(Statement(domain, direction, said_by) for domain, direction in stated)


def save_statements(
    db: sqlite_utils.Database,
    story_id: int,
    statements: Iterable[Statement],
    *,
    body: str,
    actor: str,
    user_id: int | None,
    framework: str = DEFAULT_FRAMEWORK,
) -> None:
    """Keep each statement, and make it a confirmed tag awaiting its evidence words. The caller holds the transaction."""
    stamp = now_iso()
    for item in statements:
        db.execute(
            "INSERT INTO outcome_statements (story_id, framework, domain, direction, said_by, recorded_by, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [story_id, framework, item.domain, item.direction, item.said_by, user_id, stamp],
        )
        save_confirmed_tag(db, story_id, item.domain, item.direction, (None, None), body, framework=framework, decided_by=user_id)
        audit.record(db, actor, "story.outcome_stated", story_id, domain=item.domain, said_by=item.said_by)


def statements_for(db: sqlite_utils.Database, story_id: int, framework: str = DEFAULT_FRAMEWORK) -> list[Statement]:
    return [
        Statement(row["domain"], row["direction"], row["said_by"])
        for row in db.query(
            "SELECT domain, direction, said_by FROM outcome_statements WHERE story_id = ? AND framework = ? ORDER BY id",
            [story_id, framework],
        )
    ]


def save_proposals(
    db: sqlite_utils.Database, story_id: int, found: Iterable[Mapping[str, Any]], framework: str = DEFAULT_FRAMEWORK
) -> int:
    """Keep the tagger's sentence for each stated domain (replacing the last proposals); the caller holds the transaction.

    `found` is the tagger's suggestions for the story (domain, direction, start, end, evidence, audio
    times) and `reading`, what its direction rules read whether or not they offer it: kept only for the
    contradiction notice, which quotes the sentence for a person to judge.
    """
    stated = {item.domain for item in statements_for(db, story_id, framework)}
    db.execute("DELETE FROM evidence_proposals WHERE story_id = ? AND framework = ?", [story_id, framework])
    kept = 0
    for item in found:
        if item["domain"] not in stated or not item.get("evidence"):
            continue
        db.execute(
            'INSERT INTO evidence_proposals (story_id, framework, domain, start, "end", evidence, audio_start, audio_end,'
            " reads_as, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                story_id,
                framework,
                item["domain"],
                item["start"],
                item["end"],
                item["evidence"],
                item.get("audio_start"),
                item.get("audio_end"),
                item.get("reading") if item.get("reading") in DIRECTIONS else None,
                now_iso(),
            ],
        )
        kept += 1
    return kept


def stated_outcomes(db: sqlite_utils.Database, story_id: int, framework: str = DEFAULT_FRAMEWORK) -> list[Stated]:
    """Each statement with its domain's tag and the tagger's proposal, for the story page."""
    tags = {
        row["domain"]: row
        for row in db.query(
            "SELECT id, domain, direction, evidence FROM outcome_tags"
            " WHERE story_id = ? AND framework = ? AND status = 'confirmed'",
            [story_id, framework],
        )
    }
    proposals = {
        row["domain"]: row
        for row in db.query(
            "SELECT id, domain, evidence, audio_start, reads_as FROM evidence_proposals WHERE story_id = ? AND framework = ?",
            [story_id, framework],
        )
    }
    found = []
    for item in statements_for(db, story_id, framework):
        tag, proposal = tags.get(item.domain), proposals.get(item.domain) or {}
        found.append(
            Stated(
                item,
                tag["id"] if tag else None,
                tag["direction"] if tag else None,
                tag["evidence"] if tag else None,
                proposal.get("id"),
                proposal.get("evidence"),
                proposal.get("audio_start"),
                proposal.get("reads_as"),
            )
        )
    return found


def use_proposal(
    db: sqlite_utils.Database, story_id: int, tag_id: int, proposal_id: int, *, actor: str, user_id: int | None
) -> str:
    """A person picks the tagger's proposed words as a stated outcome's evidence; returns its domain."""
    with write_transaction(db):
        tag = db.execute(
            "SELECT domain, framework FROM outcome_tags WHERE id = ? AND story_id = ? AND status = 'confirmed'",
            [tag_id, story_id],
        ).fetchone()
        proposal = db.execute(
            'SELECT domain, framework, start, "end", evidence, audio_start, audio_end FROM evidence_proposals'
            " WHERE id = ? AND story_id = ?",
            [proposal_id, story_id],
        ).fetchone()
        if tag is None or proposal is None or tuple(tag) != tuple(proposal[:2]):
            raise Invalid({"stated": "This outcome changed since the page was loaded: look at it again below."})
        body = db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()[0]
        span = evidence_span(body, {"evidence": proposal[4], "start": proposal[2], "end": proposal[3]})
        if span is None:
            raise Invalid(
                {"stated": "The story changed since these words were proposed: select the words that show it yourself."}
            )
        db.execute(
            'UPDATE outcome_tags SET start = ?, "end" = ?, evidence = ?, audio_start = ?, audio_end = ?, decided_by = ?,'
            " decided_at = ? WHERE id = ?",
            [span[0], span[1], body[span[0] : span[1]], proposal[5], proposal[6], user_id, now_iso(), tag_id],
        )
        audit.record(db, actor, "story.tag_evidence_chosen", story_id, tag_id=tag_id)
    return str(tag[0])
