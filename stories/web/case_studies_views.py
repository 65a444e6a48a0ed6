"""Board case studies: choose a board-consented story, frame it, pick pull quotes, export it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from stories import audit, case_studies
from stories.case_studies import BoardStory, Refused
from stories.clock import today
from stories.services import case_studies as case_study_service
from stories.validation import Invalid
from stories.web import get_db, refusal, render_form, require

bp = Blueprint("case_studies", __name__, url_prefix="/case-studies")

# One button per format a case study is exported in (pipelines/case_study_render.py writes them).
FORMAT_LABELS = {"markdown": "Markdown", "html": "Web page (HTML)", "pdf": "PDF"}


@bp.route("/")
@require("can_build_case_studies")
def index() -> Any:
    db, organisation_id = get_db(), current_user.organisation_id
    drafts = [
        (case_study, case_studies.board_story(db, case_study["story_id"], organisation_id, today()))
        for case_study in case_studies.list_case_studies(db, organisation_id)
    ]
    stories = case_studies.board_stories(db, organisation_id, today())
    return render_template("case_studies/index.html", drafts=drafts, stories=stories)


@bp.route("/stories/<int:story_id>", methods=["GET", "POST"])
@require("can_build_case_studies")
def start(story_id: int) -> Any:
    board = _board_or_404(story_id)
    if not board.decision.allowed:
        return render_template(
            "error.html",
            title="Not available for the board",
            message=f"This story cannot be used for a board case study: {board.decision.reason}.",
        ), 403
    form = {"title": board.version.title, "context": ""}
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = _framing_form()
        with refusal() as refused:
            case_study_id = case_studies.start_case_study(
                get_db(), board, form, user_id=current_user.id, actor=current_user.actor
            )
        if not refused:
            flash("Case study started. Now pick pull quotes by selecting the storyteller's words.")
            return redirect(url_for("case_studies.edit", case_study_id=case_study_id), 303)
        problems = refused.problems
    _note_named_view(board)
    return render_form("case_studies/start.html", problems, board=board, form=form)


@bp.route("/<int:case_study_id>", methods=["GET", "POST"])
@require("can_build_case_studies")
def edit(case_study_id: int) -> Any:
    case_study, board = _case_study_or_404(case_study_id)
    if request.method == "GET":
        return _builder(case_study, board)
    form = _framing_form()
    try:
        case_studies.update_framing(get_db(), case_study_id, board, form, actor=current_user.actor)
    except Invalid as error:
        return _builder(case_study, board, form=form, problems=error.problems)
    except Refused as error:
        flash(f"Nothing was saved. {error}", "error")
    else:
        flash("Title and context saved.")
    return redirect(url_for("case_studies.edit", case_study_id=case_study_id), 303)


@bp.route("/<int:case_study_id>/quotes", methods=["POST"])
@require("can_build_case_studies")
def add_quote(case_study_id: int) -> Any:
    case_study, board = _case_study_or_404(case_study_id)
    try:
        case_studies.add_quote(get_db(), case_study_id, board, request.form, actor=current_user.actor)
    except Invalid as error:
        return _builder(case_study, board, quote_form=request.form, problems=error.problems)
    except Refused as error:
        flash(f"No quote was added. {error}", "error")
    else:
        flash("Pull quote added.")
    return redirect(url_for("case_studies.edit", case_study_id=case_study_id, _anchor="quotes"), 303)


@bp.route("/<int:case_study_id>/quotes/remove", methods=["POST"])
@require("can_build_case_studies")
def remove_quote(case_study_id: int) -> Any:
    case_study, _ = _case_study_or_404(case_study_id)
    start, end = request.form.get("start", type=int), request.form.get("end", type=int)
    if case_studies.remove_quote(get_db(), case_study, start, end, actor=current_user.actor):
        flash("Pull quote removed.")
    else:
        flash("That pull quote had already been removed.", "error")
    return redirect(url_for("case_studies.edit", case_study_id=case_study_id, _anchor="quotes"), 303)


@bp.route("/<int:case_study_id>/delete", methods=["POST"])
@require("can_build_case_studies")
def delete(case_study_id: int) -> Any:
    case_study, _ = _case_study_or_404(case_study_id)
    case_studies.delete_case_study(get_db(), case_study, actor=current_user.actor)
    flash(f"Case study “{case_study['title']}” deleted.")
    return redirect(url_for("case_studies.index"), 303)


@bp.route("/<int:case_study_id>/export", methods=["POST"])
@require("can_build_case_studies")
def export(case_study_id: int) -> Any:
    """Streamed to the presenter and never kept here, so withdrawal leaves no server copy to erase."""
    case_study, board = _case_study_or_404(case_study_id)
    try:
        made = case_study_service.export_case_study(
            get_db(),
            case_study,
            board,
            request.form.get("kind", ""),
            by=current_user.user,
            today=today(),
            static_dir=Path(current_app.static_folder or "static"),
        )
    except Refused as error:
        flash(f"Nothing was exported. {error}", "error")
        return redirect(url_for("case_studies.edit", case_study_id=case_study_id), 303)
    return Response(
        made.content,
        content_type=made.mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{made.filename}"',
            "Cache-Control": "no-store",
        },
    )


def _builder(
    case_study: dict[str, Any],
    board: BoardStory,
    *,
    form: dict[str, Any] | None = None,
    quote_form: Any = None,
    problems: dict[str, str] | None = None,
) -> Any:
    """The builder page; with problems it keeps what was typed and answers 422."""
    context: dict[str, Any] = {
        "case_study": case_study,
        "board": board,
        "form": form or {"title": case_study["title"], "context": case_study["context"]},
        "quote_form": quote_form or {},
        "formats": FORMAT_LABELS,
    }
    if board.decision.allowed:
        quotes, gone = case_studies.current_quotes(case_study["quotes"], board.version.body)
        context.update(
            quotes=quotes,
            gone=gone,
            chunks=case_studies.quote_chunks(board.version.body, quotes),
            doc=case_study_service.preview(board, case_study, [q.text for q in quotes], by=current_user.user, today=today()),
        )
        _note_named_view(board)
    return render_form("case_studies/builder.html", problems or {}, **context)


def _board_or_404(story_id: int) -> BoardStory:
    board = case_studies.board_story(get_db(), story_id, current_user.organisation_id, today())
    if board is None:
        abort(404)
    return board


def _case_study_or_404(case_study_id: int) -> tuple[dict[str, Any], BoardStory]:
    """Another organisation's case study is indistinguishable from a missing one."""
    case_study = case_studies.get_case_study(get_db(), case_study_id, current_user.organisation_id)
    if case_study is None:
        abort(404)
    return case_study, _board_or_404(case_study["story_id"])


def _framing_form() -> dict[str, str]:
    return {"title": request.form.get("title", ""), "context": request.form.get("context", "")}


def _note_named_view(board: BoardStory) -> None:
    # Decision 7: seeing a named story is a sensitive action, wherever it is seen.
    if board.named:
        audit.record(get_db(), current_user.actor, "story.view_named", board.story.id, via="case_studies")
