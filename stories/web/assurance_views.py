"""The assurance chain in the app: member checks, second-person verification, and outcome links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from stories.services import review
from stories.web import get_db, instance, refusal, require
from stories.web.stories_views import story_or_404

bp = Blueprint("assurance", __name__, url_prefix="/stories")


@bp.route("/<int:story_id>/member-check", methods=["POST"])
@require("can_record_stories")
def member_check(story_id: int) -> Any:
    story_or_404(story_id)
    return _saved(
        story_id,
        lambda: review.record_member_check(instance(), get_db(), story_id, request.form, by=current_user.user),
        "Member check recorded: the storyteller confirmed the story reads true.",
    )


@bp.route("/<int:story_id>/verify", methods=["POST"])
@require("can_approve_stories")
def verify(story_id: int) -> Any:
    story_or_404(story_id)
    return _saved(
        story_id,
        lambda: review.verify(instance(), get_db(), story_id, request.form, by=current_user.user),
        "Verified by a second person.",
    )


@bp.route("/<int:story_id>/outcomes/<int:tag_id>/link", methods=["POST"])
@require("can_record_stories")
def link_outcome(story_id: int, tag_id: int) -> Any:
    story = story_or_404(story_id)
    return _saved(
        story_id,
        lambda: review.link_outcome(instance(), get_db(), story, tag_id, request.form, by=current_user.user),
        "Outcome linked to what produced it.",
        anchor="#outcomes-heading",
    )


def _saved(story_id: int, action: Callable[[], None], message: str, anchor: str = "#assurance-heading") -> Any:
    with refusal() as refused:
        action()
    if refused:
        flash(refused.message, "error")
    else:
        flash(message)
    return redirect(url_for("stories.view", story_id=story_id) + anchor)
