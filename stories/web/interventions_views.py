"""Managing interventions: the services, contracts and grants stories are linked to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from stories import interventions
from stories.web import get_db, refusal, render_form, require

bp = Blueprint("interventions", __name__, url_prefix="/interventions")


@bp.route("/")
@require("can_manage_interventions")
def index() -> Any:
    # Only those who read their organisation's stories see how many are linked (an admin reads none).
    counts = interventions.story_counts(get_db(), current_user.organisation_id) if current_user.role.can_read_stories() else None
    return render_template("interventions/list.html", interventions=interventions.list_interventions(get_db()), counts=counts)


@bp.route("/new", methods=["GET", "POST"])
@require("can_manage_interventions")
def new() -> Any:
    form: dict[str, Any] = {"contract_ref_kind": "local"}
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = request.form.to_dict()
        with refusal() as refused:
            interventions.add_intervention(get_db(), form, provider_id=current_user.organisation_id, actor=current_user.actor)
        problems = refused.problems
        if not refused:
            flash(f"Added {form['name'].strip()}.")
            return redirect(url_for("interventions.index"))
    return _form(form, problems, editing=None)


@bp.route("/<int:intervention_id>/edit", methods=["GET", "POST"])
@require("can_manage_interventions")
def edit(intervention_id: int) -> Any:
    item = interventions.get_intervention(get_db(), intervention_id)
    # Only the providing organisation edits its own interventions.
    if item is None or item["provider_id"] != current_user.organisation_id:
        abort(404)
    form, problems = {k: item[k] or "" for k in interventions.FIELDS}, {}
    if request.method == "POST":
        form = request.form.to_dict()
        with refusal() as refused:
            interventions.update_intervention(get_db(), intervention_id, form, actor=current_user.actor)
        problems = refused.problems
        if not refused:
            flash(f"Saved {form['name'].strip()}.")
            return redirect(url_for("interventions.index"))
    return _form(form, problems, editing=item)


def _form(form: dict[str, Any], problems: dict[str, str], editing: dict[str, Any] | None) -> Any:
    return render_form("interventions/form.html", problems, form=form, editing=editing, kinds=interventions.CONTRACT_REF_LABELS)
