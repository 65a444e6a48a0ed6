"""Changing consent, withdrawing it, deciding on other people's names, and reviews coming due."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from stories import consent, records
from stories.clock import today
from stories.services import consent as consent_service
from stories.web import get_db, instance, refusal, render_form, require
from stories.web.stories_views import story_or_404, submitted_form, uploaded

bp = Blueprint("consent", __name__, url_prefix="/stories")


@bp.route("/<int:story_id>/consent", methods=["GET", "POST"])
@require("can_record_stories")
def change(story_id: int) -> Any:
    story = story_or_404(story_id)
    current = story.consent
    withdrawn = current is None or current.withdrawn
    problems: dict[str, str] = {}
    form = _form_from_consent(current) if current else {"audiences": ["team"]}
    form["kind"] = consent.GIVEN if withdrawn else consent.AMENDED
    if request.method == "POST":
        form = submitted_form()
        with refusal() as refused:
            consent_service.change_consent(
                instance(), get_db(), story_id, form, by=current_user.user, consent_form=uploaded("evidence_upload")
            )
        if not refused:
            flash("Consent updated. What the new terms no longer allow has been taken out of the published files.")
            return redirect(url_for("stories.view", story_id=story_id))
        problems = refused.problems
    return render_form("consent/change.html", problems, story=story, form=form, consent=consent, withdrawn=withdrawn)


@bp.route("/<int:story_id>/withdraw", methods=["GET", "POST"])
@require("can_record_stories")
def withdraw(story_id: int) -> Any:
    story = story_or_404(story_id)
    problems: dict[str, str] = {}
    form = {"scope": "publication", "reason": ""}
    if request.method == "POST":
        form = {"scope": request.form.get("scope", ""), "reason": request.form.get("reason", "")}
        with refusal() as refused:
            consent_service.withdraw_in_scope(instance(), story_id, form["scope"], by=current_user.user, reason=form["reason"])
        if not refused and form["scope"] == "erase":
            flash(f"Story {story_id} has been erased. Only a note that it existed remains.")
            return redirect(url_for("stories.index"))
        if not refused:
            flash("Consent withdrawn. The story has been taken out of every published file.")
            return redirect(url_for("stories.view", story_id=story_id))
        problems = refused.problems
    return render_form("consent/withdraw.html", problems, story=story, form=form)


@bp.route("/<int:story_id>/names", methods=["POST"])
@require("can_approve_stories")
def names(story_id: int) -> Any:
    story = story_or_404(story_id)
    consent_service.decide_names(instance(), get_db(), story, request.form.to_dict(), by=current_user.user)
    flash("Name decisions saved.")
    return redirect(url_for("stories.view", story_id=story_id) + "#names-heading")


@bp.route("/due")
@require("can_read_stories")
def due() -> Any:
    stories = records.consent_due(get_db(), current_user.organisation_id, today())
    return render_template("consent/due.html", stories=stories)


def _form_from_consent(terms: consent.Consent) -> dict[str, Any]:
    return {
        **{key: value for key, value in terms.to_event_fields().items() if key != "audiences"},
        "audiences": sorted(terms.audiences),
        "special_category": "yes" if terms.special_category else "no",
        "evidence_time": ""
        if terms.evidence_time is None
        else f"{int(terms.evidence_time // 60)}:{int(terms.evidence_time % 60):02d}",
        "evidence_file": terms.evidence_file or "",
    }
