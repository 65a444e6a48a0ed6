"""A recorded story: its audio, its transcription job, and the transcript editor."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, request, send_file, url_for
from flask_login import current_user

from stories import job_status
from stories.recordings import get_transcript, recording_for
from stories.records import mark_consent_time
from stories.services import background, review
from stories.web import get_db, instance, refusal, render_form, require
from stories.web.stories_views import story_or_404

bp = Blueprint("recordings", __name__, url_prefix="/stories")

MIMETYPES = {
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "wav": "audio/wav",
    "flac": "audio/flac",
}


@bp.route("/<int:story_id>/audio")
@require("can_read_stories")
def audio(story_id: int) -> Any:
    """The recording, only ever to people who may read this story."""
    story_or_404(story_id)
    recording = recording_for(get_db(), story_id)
    if recording is None:
        abort(404)
    extension = recording["audio_file"].rsplit(".", 1)[-1]
    response = send_file(
        instance().audio_dir / recording["audio_file"],
        mimetype=MIMETYPES.get(extension, "application/octet-stream"),
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def describe_job(kind: str, job: dict[str, Any] | None, transcribed: bool = False) -> str:
    """What a background job is doing, in the words the story page shows (rendered, and followed by story.js)."""
    if job is None:  # a transcript with no job (the demo's) was made some other way
        return ("Transcribed." if transcribed else "No transcription requested.") if kind == "transcribe" else ""
    status, done = job["status"], round(job["progress"] * 100)
    if kind == "tag":
        if job["interrupted"]:
            return "Suggesting outcomes was interrupted (its worker stopped); it has been queued again."
        if status in ("queued", "running"):
            return "Suggesting outcomes…"
        return f"Suggesting outcomes failed: {job['error']}" if status == "failed" else "Outcome suggestions are ready."
    if status == "queued" and job["interrupted"]:
        return "Interrupted (its worker stopped) and queued again: the transcription restarts as soon as a worker is free."
    if status == "queued":
        return "Waiting for the transcriber… (it starts as soon as a worker is free)"
    if status == "running" and job["interrupted"]:
        return f"Interrupted at {done}%: the worker transcribing this stopped answering. It will be queued again within a minute."
    if status == "running":
        again = " again, after an interruption" if job["interrupted_at"] else ""
        return f"Transcribing{again}: {done}% of the recording done."
    return f"Transcription failed: {job['error']}" if status == "failed" else "Transcribed."


@bp.route("/<int:story_id>/status.json")
@require("can_read_stories")
def status(story_id: int) -> Any:
    """What the background jobs are doing, for the story page to follow without a reload."""
    story_or_404(story_id)
    return jsonify(
        {
            kind: {
                "id": job["id"],
                "status": job["status"],
                "progress": round(job["progress"], 3),
                "error": job["error"],
                "interrupted": job["interrupted"],
                "attempts": job["attempts"],
                "message": describe_job(kind, job),
            }
            for kind, job in job_status.latest_jobs(get_db(), story_id).items()
        }
    )


@bp.route("/<int:story_id>/jobs/<int:job_id>/retry", methods=["POST"])
@require("can_record_stories")
def retry(story_id: int, job_id: int) -> Any:
    story_or_404(story_id)
    job = job_status.get_job(get_db(), job_id)
    if job is None or job["story_id"] != story_id:
        abort(404)
    if background.retry_job(instance(), job_id):
        flash("Trying again.")
    return redirect(url_for("stories.view", story_id=story_id))


@bp.route("/<int:story_id>/transcript/consent-time", methods=["POST"])
@require("can_record_stories")
def consent_time(story_id: int) -> Any:
    story_or_404(story_id)
    try:
        seconds = float(request.form.get("time", ""))
    except ValueError:
        flash("Choose a moment within the recording.", "error")
        return redirect(url_for("recordings.transcript", story_id=story_id))
    with refusal() as refused:
        mark_consent_time(get_db(), story_id, seconds, actor=current_user.actor)
    if refused:
        flash(refused.message, "error")
    else:
        flash(f"Verbal consent marked at {int(seconds // 60)}:{int(seconds % 60):02d} in the recording.")
    return redirect(url_for("recordings.transcript", story_id=story_id))


@bp.route("/<int:story_id>/transcript", methods=["GET", "POST"])
@require("can_record_stories")
def transcript(story_id: int) -> Any:
    story = story_or_404(story_id)
    current = get_transcript(get_db(), story_id)
    if current is None:
        flash("The transcript is not ready yet.", "error")
        return redirect(url_for("stories.view", story_id=story_id))
    problems: dict[str, str] = {}
    texts = [segment["text"] for segment in current["segments"]]
    if request.method == "POST":
        texts = request.form.getlist("segment")
        reviewed = request.form.get("action") == "reviewed"
        with refusal() as refused:
            review.review_transcript(instance(), get_db(), story_id, texts, by=current_user.user, reviewed=reviewed)
        problems = refused.problems
        if not refused:
            if reviewed:
                flash("Transcript reviewed. Outcome suggestions are on their way; the story can now be signed off.")
                return redirect(url_for("stories.view", story_id=story_id))
            flash("Corrections saved.")
            return redirect(url_for("recordings.transcript", story_id=story_id))
    segments = [{**segment, "text": text} for segment, text in zip(current["segments"], texts, strict=False)]
    return render_form("recordings/transcript.html", problems, story=story, transcript=current, segments=segments)
