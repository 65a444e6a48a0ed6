"""Promises and delivery: what each contract promised, beside the published stories that show whether it was delivered."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from stories import case_studies, delivery
from stories.case_studies import Refused
from stories.clock import today
from stories.consent import COMMISSIONERS
from stories.outcomes import DIRECTIONS
from stories.services import delivery as delivery_service
from stories.web import get_db, instance, require

bp = Blueprint("delivery", __name__, url_prefix="/delivery")


@bp.route("/")
@require("can_view_commissioners_file")
def index() -> Any:
    # Read from the commissioners' published file, as the explorer is: the page and the file agree by construction.
    view = delivery.load(
        instance().published_path(COMMISSIONERS), request.args.get("contract", "").strip(), request.args.get("period", "").strip()
    )
    return render_template(
        "delivery/index.html",
        view=view,
        directions=DIRECTIONS,
        period_words=delivery.period_words,
        explorer_url=_explorer_url,
        story_link=lambda story_id: _explorer_url(f"stories/{int(story_id)}"),
        evidence_link=lambda commitment_id: _explorer_url("commitment_evidence", commitment_id=str(commitment_id)),
    )


@bp.route("/board-pack", methods=["GET", "POST"])
@require("can_build_case_studies")
def board_pack() -> Any:
    """A presenter's board pack: the delivery view as the board may read it, with their case studies, as one PDF."""
    contract, period = request.values.get("contract", "").strip(), request.values.get("period", "").strip()
    if request.method == "POST":
        chosen = [int(value) for value in request.form.getlist("case_studies") if value.isdigit()]
        try:
            made = delivery_service.export_board_pack(
                instance(),
                get_db(),
                contract,
                period,
                chosen,
                by=current_user.user,
                today=today(),
                static_dir=Path(current_app.static_folder or "static"),
            )
        except Refused as error:
            flash(f"Nothing was exported. {error}", "error")
            return redirect(url_for("delivery.board_pack", contract=contract, period=period), 303)
        return Response(
            made.content,
            content_type=made.mimetype,
            headers={"Content-Disposition": f'attachment; filename="{made.filename}"', "Cache-Control": "no-store"},
        )
    view = delivery_service.board_view(instance(), get_db(), contract, period, by=current_user.user, today=today())
    return render_template(
        "delivery/board_pack_builder.html",
        view=view,
        directions=DIRECTIONS,
        period_words=delivery.period_words,
        story_link=None,
        evidence_link=None,
        drafts=case_studies.list_case_studies(get_db(), current_user.organisation_id),
    )


def _explorer_url(path: str, **args: str) -> str:
    base = current_app.config["DATASETTE_URL"].rstrip("/")
    query = f"?{urllib.parse.urlencode(args)}" if args else ""
    return f"{base}/{COMMISSIONERS}/{path}{query}"
