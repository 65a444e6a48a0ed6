"""Confirming outcome tags: accept, reject or change a suggestion, or tag selected words yourself."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from pipelines.jobs import request_publish, request_tagging
from stories import outcome_tags, outcomes
from stories.validation import Invalid, whole_number
from stories.web import get_db, instance, require
from stories.web.stories_views import story_or_404

bp = Blueprint("tags", __name__, url_prefix="/stories")


@bp.route("/<int:story_id>/tags", methods=["POST"])
@require("can_record_stories")
def decide(story_id: int) -> Any:
    story = story_or_404(story_id)
    try:
        for tag in story["tags"]:
            decision = request.form.get(f"tag-{tag['id']}")
            if decision in ("confirmed", "rejected"):
                direction = request.form.get(f"tag-{tag['id']}-direction") or None
                outcome_tags.decide_tag(
                    get_db(),
                    story_id,
                    tag["id"],
                    decision,
                    actor=current_user.actor,
                    user_id=current_user.id,
                    direction=direction,
                )
    except Invalid as error:
        flash(" ".join(error.problems.values()), "error")
    else:
        request_publish(instance())
        flash("Outcome tags saved.")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")


@bp.route("/<int:story_id>/tags/add", methods=["POST"])
@require("can_record_stories")
def add(story_id: int) -> Any:
    story_or_404(story_id)
    try:
        outcome_tags.add_tag(
            get_db(),
            story_id,
            domain=request.form.get("domain", ""),
            direction=request.form.get("direction", ""),
            start=_offset(request.form.get("start")),
            end=_offset(request.form.get("end")),
            actor=current_user.actor,
            user_id=current_user.id,
            domains=outcomes.person_level_domains(),
        )
    except Invalid as error:
        flash(" ".join(error.problems.values()), "error")
    else:
        request_publish(instance())
        flash("Tag added.")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")


@bp.route("/<int:story_id>/tags/suggest", methods=["POST"])
@require("can_record_stories")
def suggest(story_id: int) -> Any:
    story_or_404(story_id)
    request_tagging(instance(), story_id)
    flash("Asking for fresh suggestions.")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")


def _offset(value: str | None) -> int:
    """A character offset from the form; -1 (never valid) when it is not a number."""
    number = whole_number(value)
    return -1 if number is None else number
