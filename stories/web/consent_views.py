"""Changing consent, withdrawing it, deciding on other people's names, and reviews coming due."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from pipelines.jobs import request_publish
from pipelines.withdraw import run_withdrawal
from stories import consent, records
from stories.clock import today
from stories.identity import names_for_review
from stories.validation import Invalid
from stories.web import get_db, instance, require
from stories.web.stories_views import attach_evidence, forget_refused_files, story_or_404, submitted_form

bp = Blueprint("consent", __name__, url_prefix="/stories")


@bp.route("/<int:story_id>/consent", methods=["GET", "POST"])
@require("can_record_stories")
def change(story_id: int) -> Any:
    story = story_or_404(story_id)
    current = story["consent"]
    withdrawn = current is None or current.withdrawn
    problems: dict[str, str] = {}
    form = _form_from_consent(current) if current else {"audiences": ["team"]}
    form["kind"] = consent.GIVEN if withdrawn else consent.AMENDED
    if request.method == "POST":
        form = submitted_form()
        kind = form.get("kind")
        try:
            if kind not in (consent.GIVEN, consent.AMENDED, consent.RENEWED):
                raise Invalid({"kind": "Choose whether consent is amended, renewed or given afresh."})
            attach_evidence(form)
            records.change_consent(get_db(), story_id, kind, form, actor=current_user.actor)
        except Invalid as error:
            problems = error.problems
            forget_refused_files(form, problems)
        else:
            # Narrower consent has already left the published files (the app's after-request check,
            # stories/web/__init__.py); the rebuild brings them up to date with everything else.
            request_publish(instance())
            flash("Consent updated. What the new terms no longer allow has been taken out of the published files.")
            return redirect(url_for("stories.view", story_id=story_id))
    return render_template(
        "consent/change.html", story=story, form=form, problems=problems, consent=consent, withdrawn=withdrawn
    ), (422 if problems else 200)


@bp.route("/<int:story_id>/withdraw", methods=["GET", "POST"])
@require("can_record_stories")
def withdraw(story_id: int) -> Any:
    story = story_or_404(story_id)
    problems: dict[str, str] = {}
    form = {"scope": "publication", "reason": ""}
    if request.method == "POST":
        form = {"scope": request.form.get("scope", ""), "reason": request.form.get("reason", "")}
        erase = form["scope"] == "erase"
        try:
            if form["scope"] not in ("publication", "erase"):
                raise Invalid({"scope": "Choose whether to withdraw from publication or erase the story."})
            run_withdrawal(instance(), story_id, actor=current_user.actor, reason=form["reason"], erase_story=erase)
        except Invalid as error:
            problems = error.problems
        else:
            if erase:
                flash(f"Story {story_id} has been erased. Only a note that it existed remains.")
                return redirect(url_for("stories.index"))
            flash("Consent withdrawn. The story has been taken out of every published file.")
            return redirect(url_for("stories.view", story_id=story_id))
    return render_template("consent/withdraw.html", story=story, form=form, problems=problems), (422 if problems else 200)


@bp.route("/<int:story_id>/names", methods=["POST"])
@require("can_approve_stories")
def names(story_id: int) -> Any:
    story = story_or_404(story_id)
    for item in names_for_review(story):
        key = f"name-{item['name']}"
        decision = request.form.get(key)
        if decision in ("keep", "redact"):
            records.decide_name(
                get_db(),
                story_id,
                item["name"],
                decision,
                placeholder=request.form.get(f"{key}-placeholder") or item["suggestion"],
                actor=current_user.actor,
            )
    request_publish(instance())
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
