"""Recording, listing, reading and signing off stories."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from pipelines.audio import AudioError
from pipelines.jobs import request_publish, request_tagging, request_transcription
from pipelines.recording import Limits, accept_recording, stored_recording
from stories import assurance, audit, consent, msc, published_versions, records
from stories.clock import today
from stories.evidence import MAX_EVIDENCE_BYTES, keep_form
from stories.identity import names_for_review, published_texts, recorded_names, stored_or_fresh
from stories.interventions import list_interventions
from stories.job_status import latest_jobs
from stories.outcomes import person_level_domains
from stories.recordings import Recording, get_transcript
from stories.roles import Role
from stories.stored_files import AUDIO, register_upload
from stories.validation import Invalid, Problems
from stories.web import get_db, instance, page_number, require
from stories.web.uploads import received_size

bp = Blueprint("stories", __name__, url_prefix="/stories")

LIST_FIELDS = ("audiences", "interventions")
PAGE_SIZE = 50


@login_required
def home() -> Any:
    if current_user.role.can_read_stories():
        return redirect(url_for("stories.index"))
    if current_user.role.can_build_case_studies():
        return redirect(url_for("case_studies.index"))
    if current_user.role.can_view_commissioners_file() and current_user.role is not Role.ADMIN:
        return redirect(url_for("dashboard.index"))
    return render_template("home.html")


@bp.route("/")
@require("can_read_stories")
def index() -> Any:
    status = request.args.get("status") if request.args.get("status") in records.STATUSES else None
    search = request.args.get("q", "")[:100]
    total = records.count_stories(get_db(), current_user.organisation_id, status=status, search=search)
    pages = max(1, -(-total // PAGE_SIZE))
    page = page_number(pages)
    stories = records.list_stories(
        get_db(), current_user.organisation_id, status=status, search=search, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "stories/list.html", stories=stories, status=status, search=search, page=page, pages=pages, total=total
    )


@bp.route("/new", methods=["GET", "POST"])
@require("can_record_stories")
def new() -> Any:
    form: dict[str, Any] = {"audiences": ["team"], "given_on": today().isoformat(), "told_on": today().isoformat()}
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = submitted_form()
        try:
            story_id = _record(form)
        except Invalid as error:
            problems = error.problems
            forget_refused_files(form, problems)
        else:
            flash("Story saved. A reviewer will check it before it goes any further.")
            return redirect(url_for("stories.view", story_id=story_id))
    return render_template(
        "stories/new.html",
        form=form,
        problems=problems,
        interventions=list_interventions(get_db()),
        consent=consent,
        limits=Limits.from_env(),
    ), (422 if problems else 200)


def _record(form: dict[str, Any]) -> int:
    """Save a typed or recorded story with its consent; Invalid lists every problem at once."""
    upload = request.files.get("recording")
    problems = Problems()
    stored = None
    try:
        if upload and upload.filename:
            stored = accept_recording(instance().audio_dir, upload.stream, Limits.from_env(), received_size(upload))
            register_upload(get_db(), AUDIO, stored.audio_file, current_user.actor)
        elif form.get("recording_file"):
            # Accepted with an earlier attempt at this form: no need to upload it again.
            stored = stored_recording(instance().audio_dir, form["recording_file"], Limits.from_env())
    except AudioError as error:
        problems.add("recording", str(error))
        form["recording_file"] = ""
    if stored:
        form["recording_file"] = stored.audio_file
    source = "audio" if stored or "recording" in problems.found else "text"
    try:
        attach_evidence(form)
    except Invalid as error:
        for field, message in error.problems.items():
            problems.add(field, message)
    story_id = records.record_story(
        get_db(),
        form,
        organisation_id=current_user.organisation_id,
        actor=current_user.actor,
        user_id=current_user.id,
        source=source,
        recording=Recording(stored.audio_file, stored.info.duration, stored.info.codec) if stored else None,
        problems=problems,
    )
    if stored:
        request_transcription(instance(), story_id)
    else:
        request_tagging(instance(), story_id)
    return story_id


@bp.route("/<int:story_id>")
@require("can_read_stories")
def view(story_id: int) -> Any:
    return render_story(story_or_404(story_id))


def render_story(story: dict[str, Any], status: int = 200, **forms: Any) -> Any:
    """The story page; `forms` carries a form sent back with its problems, so nothing chosen is lost."""
    story_id = story["id"]
    version, _ = stored_or_fresh(story, published_versions.load_one(get_db(), story_id))
    decisions = records.publication_decisions(story, names_resolved=not version.unresolved_names)
    if story["consent"] and story["consent"].identity_level == consent.NAMED:
        audit.record(get_db(), current_user.actor, "story.view_named", story_id)
    return render_template(
        "stories/view.html",
        story=story,
        version=version,
        decisions=decisions,
        consent=consent,
        names=names_for_review(story),
        recorded=recorded_names(story),
        published_texts=published_texts(story),
        jobs=latest_jobs(get_db(), story_id),
        transcript=get_transcript(get_db(), story_id),
        person_domains=person_level_domains(),
        verifications=assurance.verifications(get_db(), story_id),
        assurance=assurance,
        today=today().isoformat(),
        msc_choices=msc.choices_for_story(get_db(), story_id),
        **forms,
    ), status


@bp.route("/<int:story_id>/approve", methods=["POST"])
@require("can_approve_stories")
def approve(story_id: int) -> Any:
    story_or_404(story_id)
    try:
        records.approve_story(get_db(), story_id, actor=current_user.actor, user_id=current_user.id)
    except Invalid as error:
        flash(" ".join(error.problems.values()), "error")
    else:
        request_publish(instance())
        flash("Signed off. The published files are being rebuilt to include it where consent allows.")
    return redirect(url_for("stories.view", story_id=story_id))


def story_or_404(story_id: int) -> dict[str, Any]:
    """Another organisation's story is indistinguishable from a missing one."""
    story = records.get_story(get_db(), story_id, organisation_id=current_user.organisation_id)
    if story is None:
        abort(404)
    return story


def submitted_form() -> dict[str, Any]:
    form: dict[str, Any] = {key: value for key, value in request.form.items() if key != "csrf_token"}
    for field in LIST_FIELDS:
        form[field] = request.form.getlist(field)
    form["special_category"] = "yes" if request.form.get("special_category") else "no"
    return form


def forget_refused_files(form: dict[str, Any], problems: dict[str, str]) -> None:
    """A file the form was refused for must not come back as "already attached"."""
    for field, kept in (("recording", "recording_file"), ("evidence_file", "evidence_file")):
        if field in problems:
            form[kept] = ""


def attach_evidence(form: dict[str, Any]) -> None:
    """Store an uploaded consent form now, so a rejected form need not be uploaded twice.

    A form named by the page (kept from an earlier attempt, or the story's own) is checked by the
    domain: it must be this user's upload or already the story's.
    """
    upload = request.files.get("evidence_upload")
    if upload and upload.filename:
        # Read no more than one byte past the limit: enough to refuse a file that is too large.
        data = upload.stream.read(MAX_EVIDENCE_BYTES + 1)
        form["evidence_file"] = keep_form(
            get_db(), instance().evidence_dir, data, current_user.actor, received=received_size(upload)
        )
