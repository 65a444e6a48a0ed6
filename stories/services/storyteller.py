"""What a storyteller does on their own page, and the receipt that gives them the key to it.

Every change goes through the same use cases as a worker's (the consent terms appended by
`records.change_consent`, a withdrawal by `consent.withdraw_story`), and the published files follow
exactly as they do for a worker: a withdrawal is taken out at once, a narrowing too (`retract_stale`,
which the app runs after a logged-in person's request and this module runs itself, since a
storyteller has no login). The worker who recorded the story is told by a notice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlite_utils

from pipelines.case_study_render import to_pdf
from pipelines.publish import published_rows, published_versions
from stories import assurance, audit, consent, records, storyteller_links, storyteller_notices
from stories.auth import User
from stories.clock import today as utc_today
from stories.exports import KIND_LABELS
from stories.instance import Instance
from stories.services.consent import withdraw_story
from stories.services.publishing import UseCase, follow, retract_stale
from stories.storyteller_links import Issued, Link
from stories.validation import Invalid

SHOWN_TO = (consent.COMMISSIONERS, consent.PUBLIC)  # the audiences whose files the page shows as they are


def actor(link: Link) -> str:
    """How the storyteller appears in the audit log: by their link's number, never its token."""
    return f"storyteller:link {link.id}"


def issue_receipt(db: sqlite_utils.Database, story_id: int, *, by: User) -> Issued:
    """A new private link and short code for the story's storyteller (or whoever gave consent for them); the old one stops."""
    return storyteller_links.issue(db, story_id, actor=by.actor)


def receipt_pdf(page: str) -> bytes:
    """The receipt page, printed to PDF offline (the case study's renderer: static files only)."""
    return to_pdf(page)


@dataclasses.dataclass(frozen=True)
class AsShown:
    """The story as some audiences see it today (the same words for each): their published row, or why it is not shown."""

    audiences: tuple[str, ...]
    row: dict[str, Any] | None
    reason: str


def as_published(db: sqlite_utils.Database, story_id: int, today: dt.date | None = None) -> list[AsShown]:
    """The story in each published audience's own words, by the very functions that write the published files.

    Audiences shown the very same row are one entry, so a long story is not read twice over."""
    today = today or utc_today()
    stories = records.stories_for_publication(db, [story_id])
    versions = published_versions(db, stories)
    story = stories[0] if stories else None
    version = versions.get(story_id)
    names_resolved = version is not None and not version.unresolved_names
    shown: list[AsShown] = []
    for audience in SHOWN_TO:
        rows = list(published_rows(stories, audience, today, versions))
        if rows:
            same = next((item for item in shown if item.row == rows[0]), None)
            if same:
                shown[shown.index(same)] = dataclasses.replace(same, audiences=(*same.audiences, audience))
            else:
                shown.append(AsShown((audience,), rows[0], ""))
            continue
        decision = consent.publishable(story.state(names_resolved), story.consent, audience, today) if story else None
        shown.append(AsShown((audience,), None, decision.reason if decision is not None else "no consent recorded"))
    return shown


def copies_made(db: sqlite_utils.Database, story_id: int) -> list[dict[str, Any]]:
    """The export register's copies of this story: what kind, when, and whether destroyed (no one's name)."""
    rows = db.query(
        "SELECT kind, audience, exported_at, destroy_requested_at, destroyed_at FROM exports WHERE story_id = ? ORDER BY id",
        [story_id],
    )
    return [dict(row, label=KIND_LABELS.get(row["kind"], row["kind"])) for row in rows]


def confirm_right(instance: Instance, db: sqlite_utils.Database, link: Link) -> None:
    """ "This is right": a member check, recorded as the storyteller's own."""
    assurance.record_own_check(db, link.story_id, actor=actor(link))
    storyteller_notices.notify(db, link.story_id, storyteller_notices.CONFIRMED)
    follow(instance, UseCase.ASSURE, [link.story_id], actor=actor(link))


def narrow(
    instance: Instance, db: sqlite_utils.Database, link: Link, audiences: list[str], identity_level: str
) -> consent.Consent:
    """Fewer audiences, or a less identifying level: never more (widening needs a conversation with the worker)."""
    old = link.consent
    if old.withdrawn:
        raise Invalid({"audiences": "You have already withdrawn your consent, so there is nothing to narrow."})
    wanted = {consent.TEAM, *audiences}
    problems: dict[str, str] = {}
    if not wanted <= old.audiences:
        problems["audiences"] = "You can only take audiences away here. To add one, please talk to your worker."
    if identity_level not in consent.IDENTITY_LEVELS or consent.IDENTITY_LEVELS.index(
        identity_level
    ) < consent.IDENTITY_LEVELS.index(old.identity_level):
        problems["identity_level"] = (
            "You can only choose a way of naming you that shows less. To show more, please talk to your worker."
        )
    if problems:
        raise Invalid(problems)
    if wanted == old.audiences and identity_level == old.identity_level:
        raise Invalid({"audiences": "Nothing was changed: untick an audience, or choose a way of naming you that shows less."})
    form = {
        **old.to_event_fields(),
        "audiences": sorted(wanted),
        "identity_level": identity_level,
        "special_category": "yes" if old.special_category else "no",
        "evidence_time": _moment_still_in_the_recording(db, link.story_id, old),
        "evidence_file": old.evidence_file or "",
        "given_on": old.given_on.isoformat(),
    }
    terms = records.change_consent(db, link.story_id, consent.AMENDED, form, actor=actor(link))
    storyteller_notices.notify(db, link.story_id, storyteller_notices.NARROWED)
    # What the narrower terms no longer allow leaves every file now, as after a worker's change.
    retract_stale(instance, db, {link.story_id}, actor=actor(link))
    follow(instance, UseCase.CHANGE_CONSENT, [link.story_id], actor=actor(link))
    return terms


def _moment_still_in_the_recording(db: sqlite_utils.Database, story_id: int, old: consent.Consent) -> str:
    """The moment of verbal consent, carried over only if it is in the recording the story has now.

    `check_evidence` binds a time to the current recording: a moment marked in a recording since replaced
    must not become evidence by a narrowing. Without it the terms evidence nothing, and publishing fails closed."""
    current = records.current_recording(db, story_id)
    if old.evidence_time is None or current is None or old.evidence_recording != current.audio_file:
        return ""
    return str(old.evidence_time)


def withdraw(instance: Instance, db: sqlite_utils.Database, link: Link, *, erasure: bool = False) -> None:
    """Withdraw from every published file now; asking for erasure also asks the worker to erase the story."""
    reason = "Asked for erasure on their own page" if erasure else "Withdrawn by the storyteller on their own page"
    withdraw_story(instance, link.story_id, actor=actor(link), reason=reason)
    storyteller_notices.notify(db, link.story_id, storyteller_notices.ASKED_ERASURE if erasure else storyteller_notices.WITHDREW)
    if erasure:
        audit.record(db, actor(link), "storyteller.asked_erasure", link.story_id)
