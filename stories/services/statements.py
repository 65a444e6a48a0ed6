"""Stated outcomes: a person picks the words the tagger proposes for what was said to have changed."""

from __future__ import annotations

import sqlite_utils

from stories import statements
from stories.auth import User
from stories.instance import Instance
from stories.services.publishing import UseCase, follow


def use_proposed_evidence(
    instance: Instance, db: sqlite_utils.Database, story_id: int, tag_id: int, proposal_id: int, *, by: User
) -> str:
    """The proposed sentence becomes a stated outcome's evidence words, so it can be published; returns its domain."""
    domain = statements.use_proposal(db, story_id, tag_id, proposal_id, actor=by.actor, user_id=by.id)
    follow(instance, UseCase.ADD_TAG, [story_id], actor=by.actor)
    return domain
