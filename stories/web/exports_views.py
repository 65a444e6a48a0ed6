"""Exports of identifiable stories, and the register that asks for copies to be destroyed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from stories import exports
from stories.consent import TEAM
from stories.identity import published_version
from stories.services import exports as export_service
from stories.spreadsheet import csv_text
from stories.web import get_db, instance, refusal, require
from stories.web.stories_views import story_or_404

bp = Blueprint("exports", __name__)


@bp.route("/stories/<int:story_id>/export.csv")
@require("can_read_stories")
def story_csv(story_id: int) -> Any:
    """The story as the team holds it, for a report; recorded in the register."""
    story = story_or_404(story_id)
    consent = story.consent
    if consent is None or consent.withdrawn:
        flash("Consent for this story has been withdrawn: it cannot be exported.", "error")
        return redirect(url_for("stories.view", story_id=story_id))
    exports.record_export(
        get_db(),
        story_id,
        user_id=current_user.id,
        actor=current_user.actor,
        kind="csv",
        audience=TEAM,
        consent_version=consent.version,
    )
    version = published_version(story)
    text = csv_text(
        [
            ["story_id", "title", "told_on", "organisation", "storyteller", "body", "consent_version"],
            [
                story_id,
                version.title,
                story.told_on.isoformat(),
                story.organisation,
                version.storyteller or "",
                version.body,
                consent.version,
            ],
        ]
    )
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="storybank-story-{story_id}.csv"'},
    )


@bp.route("/exports/")
@login_required
def index() -> Any:
    db = get_db()
    mine = exports.awaiting_destruction(db, current_user.id)
    register = exports.register(db, current_user.organisation_id) if current_user.role.can_approve_stories() else []
    return render_template(
        "exports/index.html", mine=mine, made=exports.made_by(db, current_user.id), register=register, labels=exports.KIND_LABELS
    )


@bp.route("/exports/evaluation.qdpx", methods=["POST"])
@require("can_export_evaluation_project")
def evaluation_project() -> Any:
    """The commissioners' evidence as a REFI-QDA project; every story in it entered in the register."""
    with refusal() as refused:
        download = export_service.export_evaluation_project(instance(), get_db(), by=current_user)
    if refused:
        flash(refused.message, "error")
        return redirect(url_for("exports.index"))
    return _attachment(download)


@bp.route("/exports/codebook.qdc")
@require("can_export_evaluation_project")
def evaluation_codebook() -> Any:
    """The outcome frameworks alone as a REFI-QDA codebook: no story in it."""
    return _attachment(export_service.evaluation_codebook(instance()))


def _attachment(download: export_service.Download) -> Response:
    return Response(
        download.content,
        mimetype=download.media_type,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


@bp.route("/exports/<int:export_id>/destroyed", methods=["POST"])
@login_required
def destroyed(export_id: int) -> Any:
    with refusal() as refused:
        exports.confirm_destroyed(get_db(), export_id, user_id=current_user.id, actor=current_user.actor)
    if refused:
        flash(refused.message, "error")
    else:
        flash("Thank you: the register shows that you destroyed your copy.")
    return redirect(url_for("exports.index"))
