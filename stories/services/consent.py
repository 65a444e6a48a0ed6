"""Consent: changing its terms, withdrawing it (from publication, or erasing the story), and deciding on names."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from stories import consent, records
from stories.auth import User
from stories.identity import names_for_review
from stories.instance import Instance
from stories.removals import removal_underway
from stories.services.publishing import UseCase, follow
from stories.services.uploads import Upload, attach_consent_form, forget_refused_files
from stories.story import Story
from stories.validation import Invalid
from stories.withdrawal import erase, withdraw

WITHDRAWAL_SCOPES = ("publication", "erase")


def change_consent(
    instance: Instance,
    db: sqlite_utils.Database,
    story_id: int,
    form: dict[str, Any],
    *,
    by: User,
    consent_form: Upload | None = None,
) -> consent.Consent:
    """Record consent amended, renewed or given afresh (`form["kind"]`); `form` keeps a stored form's name if sent back."""
    try:
        kind = form.get("kind")
        if kind not in (consent.GIVEN, consent.AMENDED, consent.RENEWED):
            raise Invalid({"kind": "Choose whether consent is amended, renewed or given afresh."})
        attach_consent_form(instance, db, form, consent_form, by=by)
        terms = records.change_consent(db, story_id, kind, form, actor=by.actor)
    except Invalid as error:
        forget_refused_files(form, error.problems)
        raise
    follow(instance, UseCase.CHANGE_CONSENT, [story_id], actor=by.actor)
    return terms


def withdraw_story(instance: Instance, story_id: int, *, actor: str, reason: str, erase_story: bool = False) -> dict[str, int]:
    """Withdraw (or erase) one story (journalled as it is), take it out of the published files, then delete its files.

    The store says so first (committed), so a rebuild running meanwhile takes the story out too;
    then it is taken out of the published files where they lie (tenths of a second, whatever is running);
    a full rebuild is queued behind that to catch up with anything else that changed. Returns
    stories per audience in the files made now.
    """
    with removal_underway(instance):  # a process killed before the end leaves it to `serve` (CutShortRemovals)
        with instance.connection() as db:
            if erase_story:
                doomed = erase(db, story_id, actor=actor, reason=reason, files=[instance.evidence_dir, instance.audio_dir])
            else:
                withdraw(db, story_id, actor=actor, reason=reason)
                doomed = []
        for path in doomed:  # first: a crash later in the withdrawal must not leave a consent form or recording behind
            path.unlink(missing_ok=True)
        return follow(instance, UseCase.ERASE if erase_story else UseCase.WITHDRAW, [story_id], actor=actor)


def withdraw_in_scope(instance: Instance, story_id: int, scope: str, *, by: User, reason: str) -> dict[str, int]:
    """The withdrawal form's choice: from publication only, or erase the story."""
    if scope not in WITHDRAWAL_SCOPES:
        raise Invalid({"scope": "Choose whether to withdraw from publication or erase the story."})
    return withdraw_story(instance, story_id, actor=by.actor, reason=reason, erase_story=scope == "erase")


def decide_names(instance: Instance, db: sqlite_utils.Database, story: Story, answers: dict[str, str], *, by: User) -> None:
    """Keep or hide each name found in a story, as the reviewer answered (`name-<name>`, `name-<name>-placeholder`)."""
    for item in names_for_review(story):
        key = f"name-{item['name']}"
        decision = answers.get(key)
        if decision in ("keep", "redact"):
            records.decide_name(
                db,
                story.id,
                item["name"],
                decision,
                placeholder=answers.get(f"{key}-placeholder") or item["suggestion"],
                actor=by.actor,
            )
    follow(instance, UseCase.DECIDE_NAMES, [story.id], actor=by.actor)
