"""Confirming outcome tags: accept, reject or change a suggestion, or tag selected words yourself.

A form with a problem comes back as the story page with every choice as it was sent and the
message next to what needs changing (never a message at the top of a long page).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from stories import outcome_tags, outcomes
from stories.services import review
from stories.validation import text
from stories.web import get_db, instance, refusal, require
from stories.web.stories_views import render_story, story_or_404

bp = Blueprint("tags", __name__, url_prefix="/stories")
TAG_FIELD = re.compile(r"tag-(\d{1,18})(?:-direction)?")  # at most 18 digits: always an id SQLite can hold


@bp.route("/<int:story_id>/tags", methods=["POST"])
@require("can_record_stories")
def decide(story_id: int) -> Any:
    """Every lens's decisions arrive in one form and are saved together."""
    story = story_or_404(story_id)
    tag_ids = sorted({int(match[1]) for key in request.form if (match := TAG_FIELD.fullmatch(key))})
    choices = [
        outcome_tags.TagChoice(
            tag_id, request.form.get(f"tag-{tag_id}") or None, request.form.get(f"tag-{tag_id}-direction") or None
        )
        for tag_id in tag_ids
    ]
    with refusal() as refused:
        saved = review.decide_tags(instance(), get_db(), story_id, choices, by=current_user.user)
    if refused:
        sent = {choice.tag_id: choice for choice in choices}
        return render_story(story, 422, tag_choices=sent, tag_problems=refused.problems)
    flash(saved.message(), "outcomes")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")


@bp.route("/<int:story_id>/tags/add", methods=["POST"])
@require("can_record_stories")
def add(story_id: int) -> Any:
    story = story_or_404(story_id)
    sent = {key: text(request.form.get(key)) for key in ("domain", "direction", "start", "end")}
    sent["quote"] = request.form.get("quote", "")
    with refusal() as refused:
        review.add_tag(instance(), get_db(), story_id, sent, by=current_user.user)
    if refused:
        return render_story(story, 422, add_tag=sent, add_tag_problems=refused.problems)
    flash(f"Tag added: {outcomes.domain_label(sent['domain'])}.", "outcomes")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")


@bp.route("/<int:story_id>/tags/suggest", methods=["POST"])
@require("can_record_stories")
def suggest(story_id: int) -> Any:
    story_or_404(story_id)
    review.suggest_tags(instance(), story_id)
    flash("Asking the tagger for fresh suggestions.", "outcomes")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")
