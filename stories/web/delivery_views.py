"""Promises and delivery: what each contract promised, beside the published stories that show whether it was delivered."""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import Blueprint, current_app, render_template, request

from stories import delivery
from stories.consent import COMMISSIONERS
from stories.outcomes import DIRECTIONS
from stories.web import instance, require

bp = Blueprint("delivery", __name__, url_prefix="/delivery")


@bp.route("/")
@require("can_view_commissioners_file")
def index() -> Any:
    # Read from the commissioners' published file, as the explorer is: the page and the file agree by construction.
    view = delivery.load(
        instance().published_path(COMMISSIONERS), request.args.get("contract", "").strip(), request.args.get("period", "").strip()
    )
    return render_template("delivery/index.html", view=view, directions=DIRECTIONS, explorer_url=_explorer_url)


def _explorer_url(path: str, **args: str) -> str:
    base = current_app.config["DATASETTE_URL"].rstrip("/")
    query = f"?{urllib.parse.urlencode(args)}" if args else ""
    return f"{base}/{COMMISSIONERS}/{path}{query}"
