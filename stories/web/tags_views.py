"""Confirming outcome tags: accept, reject or change a suggestion, or tag selected words yourself.

A form with a problem comes back as the story page with every choice as it was sent and the
message next to what needs changing (never a message at the top of a long page).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from pipelines.jobs import request_publish, request_tagging
from stories import outcome_tags, outcomes
from stories.validation import Invalid, text, whole_number
from stories.web import get_db, instance, require
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
    try:
        saved = outcome_tags.decide_tags(get_db(), story_id, choices, actor=current_user.actor, user_id=current_user.id)
    except Invalid as error:
        sent = {choice.tag_id: choice for choice in choices}
        return render_story(story, 422, tag_choices=sent, tag_problems=error.problems)
    if saved.accepted or saved.rejected or saved.redirected:
        request_publish(instance())
    flash(saved.message(), "outcomes")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")


@bp.route("/<int:story_id>/tags/add", methods=["POST"])
@require("can_record_stories")
def add(story_id: int) -> Any:
    story = story_or_404(story_id)
    sent = {key: text(request.form.get(key)) for key in ("domain", "direction", "start", "end")}
    sent["quote"] = request.form.get("quote", "")
    try:
        outcome_tags.add_tag(
            get_db(),
            story_id,
            domain=sent["domain"],
            direction=sent["direction"],
            start=whole_number(sent["start"]),
            end=whole_number(sent["end"]),
            selected=sent["quote"],
            actor=current_user.actor,
            user_id=current_user.id,
            domains=outcomes.person_level_domains(),
        )
    except Invalid as error:
        return render_story(story, 422, add_tag=sent, add_tag_problems=error.problems)
    request_publish(instance())
    flash(f"Tag added: {outcomes.domain_label(sent['domain'])}.", "outcomes")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")


@bp.route("/<int:story_id>/tags/suggest", methods=["POST"])
@require("can_record_stories")
def suggest(story_id: int) -> Any:
    story_or_404(story_id)
    request_tagging(instance(), story_id)
    flash("Asking the tagger for fresh suggestions.", "outcomes")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")
