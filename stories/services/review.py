"""Reviewing a story: its transcript, its outcome tags, its assurance, and signing it off."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlite_utils

from pipelines.jobs import request_tagging
from stories import assurance, msc, outcome_tags, outcomes, records
from stories.auth import User
from stories.instance import Instance
from stories.recordings import correct_transcript
from stories.services.publishing import UseCase, follow
from stories.story import Story
from stories.validation import whole_number


def sign_off(instance: Instance, db: sqlite_utils.Database, story_id: int, *, by: User) -> None:
    """A reviewer signs a story off: the published files are rebuilt to include it where consent allows."""
    records.approve_story(db, story_id, actor=by.actor, user_id=by.id)
    follow(instance, UseCase.SIGN_OFF, [story_id], actor=by.actor)


def review_transcript(
    instance: Instance, db: sqlite_utils.Database, story_id: int, texts: list[str], *, by: User, reviewed: bool
) -> None:
    """Save a person's corrections to a transcript; marked reviewed, it is tagged afresh from the words now stored."""
    correct_transcript(db, story_id, texts, actor=by.actor, reviewed=reviewed)
    if reviewed:
        request_tagging(instance, story_id)
    follow(instance, UseCase.REVIEW_TRANSCRIPT, [story_id], actor=by.actor)


def suggest_tags(instance: Instance, story_id: int) -> int:
    """Ask the tagger for fresh outcome suggestions; returns the job id the story page follows."""
    return request_tagging(instance, story_id)


def decide_tags(
    instance: Instance, db: sqlite_utils.Database, story_id: int, choices: list[outcome_tags.TagChoice], *, by: User
) -> outcome_tags.Saved:
    """Every decision from the story's one decisions form, saved together or not at all."""
    saved = outcome_tags.decide_tags(db, story_id, choices, actor=by.actor, user_id=by.id)
    if saved.accepted or saved.rejected or saved.redirected:  # nothing decided, nothing a file could show differently
        follow(instance, UseCase.DECIDE_TAGS, [story_id], actor=by.actor)
    return saved


def add_tag(instance: Instance, db: sqlite_utils.Database, story_id: int, sent: Mapping[str, str], *, by: User) -> int:
    """Tag the words a person selected (`sent`: domain, direction, start, end, quote); returns the tag's id."""
    tag_id = outcome_tags.add_tag(
        db,
        story_id,
        domain=sent["domain"],
        direction=sent["direction"],
        start=whole_number(sent["start"]),
        end=whole_number(sent["end"]),
        selected=sent["quote"],
        actor=by.actor,
        user_id=by.id,
        domains=outcomes.person_level_domains(),
    )
    follow(instance, UseCase.ADD_TAG, [story_id], actor=by.actor)
    return tag_id


def record_member_check(
    instance: Instance, db: sqlite_utils.Database, story_id: int, form: Mapping[str, Any], *, by: User
) -> None:
    """The storyteller confirmed the story reads true."""
    assurance.record_member_check(db, story_id, form, actor=by.actor, user_id=by.id, recorded_by=by.display_name)
    follow(instance, UseCase.ASSURE, [story_id], actor=by.actor)


def verify(instance: Instance, db: sqlite_utils.Database, story_id: int, form: Mapping[str, Any], *, by: User) -> None:
    """A second person verified the story."""
    assurance.record_second_person(db, story_id, form, actor=by.actor, user_id=by.id, verifier=by.display_name)
    follow(instance, UseCase.ASSURE, [story_id], actor=by.actor)


def link_outcome(
    instance: Instance, db: sqlite_utils.Database, story: Story, tag_id: int, form: Mapping[str, Any], *, by: User
) -> None:
    """Link an outcome to the intervention of the story's that produced it."""
    intervention_ids = [item["id"] for item in story.interventions]
    assurance.link_outcome(db, story.id, tag_id, form, actor=by.actor, intervention_ids=intervention_ids)
    follow(instance, UseCase.ASSURE, [story.id], actor=by.actor)


def choose_most_significant(
    instance: Instance, db: sqlite_utils.Database, round_: dict[str, Any], form: dict[str, Any], *, by: User
) -> None:
    """Record a Most Significant Change panel's choice and why; the reason is published with the story."""
    msc.choose(db, round_, form, user_id=by.id, actor=by.actor)
    follow(instance, UseCase.CHOOSE_MSC, actor=by.actor)
