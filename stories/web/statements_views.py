"""Stated outcomes on the pages: the record form's "What changed?" and, on the story page, the words proposed for each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from stories import statements
from stories.outcomes import domain_label, person_level_domains
from stories.services.statements import use_proposed_evidence
from stories.validation import whole_number
from stories.web import get_db, instance, refusal, require
from stories.web.stories_views import render_story, story_or_404

bp = Blueprint("statements", __name__, url_prefix="/stories")


@dataclass(frozen=True)
class DomainField:
    field: str
    label: str


@bp.app_template_global()
def outcome_domains() -> list[DomainField]:
    """The record form's one row of choices per domain (the same field names an import file's columns use)."""
    return [DomainField(statements.FIELD_PREFIX + domain, domain_label(domain)) for domain in person_level_domains()]


@bp.app_template_global()
def stated_outcomes(story_id: int) -> list[statements.Stated]:
    return statements.stated_outcomes(get_db(), story_id)


@bp.app_template_global()
def stated_choice(story_id: int, domain: str | None) -> dict[str, str]:
    """The add-tag form's domain and direction for a stated outcome whose words a person selects themselves."""
    stated = {item.domain: item for item in statements.statements_for(get_db(), story_id)}
    return {"domain": domain, "direction": stated[domain].direction} if domain in stated else {}


@bp.app_template_global()
def said_by(tag: dict[str, Any]) -> str:
    """Who stands behind a tag: "the storyteller said", "the worker judged" or "a reviewer confirmed"."""
    return statements.PROVENANCE[tag["said_by"]]


@bp.route("/<int:story_id>/stated/<int:tag_id>/evidence", methods=["POST"])
@require("can_record_stories")
def use_proposal(story_id: int, tag_id: int) -> Any:
    story = story_or_404(story_id)
    proposal_id = whole_number(request.form.get("proposal"))
    with refusal() as refused:
        domain = use_proposed_evidence(instance(), get_db(), story_id, tag_id, proposal_id or 0, by=current_user.user)
    if refused:
        return render_story(story, 422, stated_problems=refused.problems)
    flash(f"{domain_label(domain)}: the proposed words are now its evidence.", "outcomes")
    return redirect(url_for("stories.view", story_id=story_id) + "#outcomes-heading")
