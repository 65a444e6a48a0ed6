"""The assurance chain in the app: member checks, second-person verification, and outcome links."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from pipelines.jobs import request_publish
from stories import assurance
from stories.validation import Invalid
from stories.web import get_db, instance, require
from stories.web.stories_views import story_or_404

bp = Blueprint("assurance", __name__, url_prefix="/stories")


@bp.route("/<int:story_id>/member-check", methods=["POST"])
@require("can_record_stories")
def member_check(story_id: int) -> Any:
    story_or_404(story_id)
    return _saved(
        story_id,
        lambda: assurance.record_member_check(
            get_db(),
            story_id,
            request.form,
            actor=current_user.actor,
            user_id=current_user.id,
            recorded_by=current_user.display_name,
        ),
        "Member check recorded: the storyteller confirmed the story reads true.",
    )


@bp.route("/<int:story_id>/verify", methods=["POST"])
@require("can_approve_stories")
def verify(story_id: int) -> Any:
    story_or_404(story_id)
    return _saved(
        story_id,
        lambda: assurance.record_second_person(
            get_db(),
            story_id,
            request.form,
            actor=current_user.actor,
            user_id=current_user.id,
            verifier=current_user.display_name,
        ),
        "Verified by a second person.",
    )


@bp.route("/<int:story_id>/outcomes/<int:tag_id>/link", methods=["POST"])
@require("can_record_stories")
def link_outcome(story_id: int, tag_id: int) -> Any:
    story = story_or_404(story_id)
    return _saved(
        story_id,
        lambda: assurance.link_outcome(
            get_db(),
            story_id,
            tag_id,
            request.form,
            actor=current_user.actor,
            intervention_ids=[item["id"] for item in story["interventions"]],
        ),
        "Outcome linked to what produced it.",
        anchor="#outcomes-heading",
    )


def _saved(story_id: int, action: Any, message: str, anchor: str = "#assurance-heading") -> Any:
    try:
        action()
    except Invalid as error:
        flash(" ".join(error.problems.values()), "error")
    else:
        request_publish(instance())
        flash(message)
    return redirect(url_for("stories.view", story_id=story_id) + anchor)
