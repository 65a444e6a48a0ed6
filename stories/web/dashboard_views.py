"""The evidence dashboard: what changed for people, under which contract, and how we know."""

from __future__ import annotations

import dataclasses
import functools
import urllib.parse
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from stories import dashboard
from stories.consent import COMMISSIONERS
from stories.outcomes import DIRECTIONS
from stories.web import charts, instance, require

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

CELL_BAR_WIDTH = 64


@bp.route("/")
@require("can_view_dashboard")
def index() -> Any:
    filters = dashboard.Filters.from_args(request.args)
    # A reviewer sees the evidence their own organisation published, not other providers'.
    own = None if current_user.role.can_view_commissioners_file() else current_user.organisation_name
    evidence = dashboard.load(instance().published_path(COMMISSIONERS), filters, only_organisation=own)
    if own is not None:
        filters = dataclasses.replace(filters, organisation=own)
    chart = None
    if evidence and evidence.periods:
        chart = charts.grouped_bars([(period.label, period.counts) for period in evidence.periods], DIRECTIONS)
    return render_template(
        "dashboard/index.html",
        filters=filters,
        evidence=evidence,
        chart=chart,
        directions=DIRECTIONS,
        # Reviewers may see the dashboard but not (yet) the commissioners' Datasette: no links they cannot follow.
        can_explore=current_user.role.can_view_commissioners_file(),
        explorer_url=functools.partial(_outcomes_url, filters),
        story_url=_story_url,
        view_url=lambda **changes: url_for("dashboard.index", **filters.query_args(**changes)),
        cell_bar=_cell_bars(evidence),
        cell_bar_width=CELL_BAR_WIDTH,
    )


def _outcomes_url(
    filters: dashboard.Filters, domain: str | None = None, column: dashboard.Column | None = None, direction: str | None = None
) -> str:
    """The Datasette page listing exactly the outcome rows behind a count (or behind the whole view)."""
    cell = [("domain", domain)] if domain else []
    cell += list(column.explorer_filter) if column else []
    cell += [("direction", direction)] if direction else []
    return _explorer_url("story_outcomes", filters.explorer_args(*cell))


def _story_url(story_id: int) -> str:
    return _explorer_url(f"stories/{int(story_id)}", [])


def _explorer_url(path: str, args: list[tuple[str, str]]) -> str:
    base = current_app.config["DATASETTE_URL"].rstrip("/")
    query = f"?{urllib.parse.urlencode(args)}" if args else ""
    return f"{base}/{COMMISSIONERS}/{path}{query}"


def _cell_bars(evidence: dashboard.Evidence | None) -> Callable[[dict[str, int], bool], tuple[charts.Segment, ...]]:
    """Cell bars share one scale per kind of column, so the "all interventions" totals do not dwarf the rest."""
    rows = evidence.rows if evidence else []
    largest = max((sum(cell.values()) for row in rows for cell in row.cells[:-1]), default=0)
    largest_total = max((sum(row.total.values()) for row in rows), default=0)

    def bars(counts: dict[str, int], total: bool) -> tuple[charts.Segment, ...]:
        return charts.stacked(counts, DIRECTIONS, largest=largest_total if total else largest, width=CELL_BAR_WIDTH)

    return bars
