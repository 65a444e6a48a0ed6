"""Recording, listing, reading and signing off stories."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from stories import assurance, audit, consent, msc, published_versions, records, storyteller_links
from stories.clock import today
from stories.identity import published_texts, recorded_names, stored_or_fresh
from stories.interventions import list_interventions
from stories.job_status import latest_jobs
from stories.name_reviews import names_to_review
from stories.outcomes import person_level_domains
from stories.recordings import get_transcript
from stories.roles import Role
from stories.services import recording, review
from stories.services.uploads import Upload
from stories.story import Story
from stories.story_pages import story_page
from stories.web import get_db, instance, page_number, refusal, render_form, require
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
    page = story_page(
        get_db(),
        current_user.organisation_id,
        status=status,
        search=search,
        size=PAGE_SIZE,
        number=page_number(pages),
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    return render_template(
        "stories/list.html",
        stories=page.stories,
        status=status,
        search=search,
        page=min(page.number, pages),
        pages=pages,
        newer=page.newer,
        older=page.older,
        total=total,
    )


@bp.route("/new", methods=["GET", "POST"])
@require("can_record_stories")
def new() -> Any:
    form: dict[str, Any] = {"audiences": ["team"], "given_on": today().isoformat(), "told_on": today().isoformat()}
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = submitted_form()
        with refusal() as refused:
            story_id = recording.record_story(
                instance(),
                get_db(),
                form,
                by=current_user.user,
                recording=uploaded("recording"),
                consent_form=uploaded("evidence_upload"),
            )
        if not refused:
            flash(
                "Story saved. A reviewer will check it before it goes any further."
                " Now give the storyteller their consent receipt (on this page, under Consent)."
            )
            return redirect(url_for("stories.view", story_id=story_id))
        problems = refused.problems
    return render_form(
        "stories/new.html",
        problems,
        form=form,
        interventions=list_interventions(get_db()),
        consent=consent,
        limits=recording.recording_limits(),
    )


@bp.route("/<int:story_id>")
@require("can_read_stories")
def view(story_id: int) -> Any:
    return render_story(story_or_404(story_id))


def render_story(story: Story, status: int = 200, **forms: Any) -> Any:
    """The story page; `forms` carries a form sent back with its problems, so nothing chosen is lost."""
    story_id = story.id
    version, _ = stored_or_fresh(story, published_versions.load_one(get_db(), story_id))
    decisions = records.publication_decisions(story, names_resolved=not version.unresolved_names)
    if story.consent and story.consent.identity_level == consent.NAMED:
        audit.record(get_db(), current_user.actor, "story.view_named", story_id)
    return render_template(
        "stories/view.html",
        story=story,
        version=version,
        decisions=decisions,
        consent=consent,
        names=names_to_review(get_db(), story),
        recorded=recorded_names(story),
        published_texts=published_texts(story),
        jobs=latest_jobs(get_db(), story_id),
        transcript=get_transcript(get_db(), story_id),
        person_domains=person_level_domains(),
        verifications=assurance.verifications(get_db(), story_id),
        assurance=assurance,
        today=today().isoformat(),
        msc_choices=msc.choices_for_story(get_db(), story_id),
        receipt_issued=storyteller_links.live_link_issued(get_db(), story_id),
        **forms,
    ), status


@bp.route("/<int:story_id>/approve", methods=["POST"])
@require("can_approve_stories")
def approve(story_id: int) -> Any:
    story_or_404(story_id)
    with refusal() as refused:
        review.sign_off(instance(), get_db(), story_id, by=current_user.user)
    if refused:
        flash(refused.message, "error")
    else:
        flash("Signed off. The published files are being rebuilt to include it where consent allows.")
    return redirect(url_for("stories.view", story_id=story_id))


def story_or_404(story_id: int) -> Story:
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


def uploaded(field: str) -> Upload | None:
    """A file sent in this form's field, or None when none was chosen."""
    upload = request.files.get(field)
    return Upload(upload.stream, received_size(upload)) if upload and upload.filename else None
