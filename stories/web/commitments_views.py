"""An intervention's commitments: what its contract promised, entered on the intervention's own page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from stories import commitments, interventions
from stories.assurance import CONTRIBUTIONS
from stories.services import commitments as commitment_service
from stories.web import get_db, instance, refusal, render_form, require

bp = Blueprint("commitments", __name__, url_prefix="/interventions/<int:intervention_id>/commitments")


@bp.route("/", methods=["GET", "POST"])
@require("can_manage_interventions")
def index(intervention_id: int) -> Any:
    item = _own_intervention(intervention_id)
    form: dict[str, Any] = {"domains": []}
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = _submitted()
        with refusal() as refused:
            commitment_service.add_commitment(instance(), get_db(), intervention_id, form, actor=current_user.actor)
        problems = refused.problems
        if not refused:
            flash("Added the commitment.")
            return redirect(url_for("commitments.index", intervention_id=intervention_id))
    return _page("interventions/commitments.html", item, form, problems, editing=None)


@bp.route("/<int:commitment_id>/edit", methods=["GET", "POST"])
@require("can_manage_interventions")
def edit(intervention_id: int, commitment_id: int) -> Any:
    item = _own_intervention(intervention_id)
    commitment = _its_commitment(intervention_id, commitment_id)
    form, problems = commitments.as_form(commitment), {}
    if request.method == "POST":
        form = _submitted()
        with refusal() as refused:
            commitment_service.update_commitment(instance(), get_db(), commitment_id, form, actor=current_user.actor)
        problems = refused.problems
        if not refused:
            flash("Saved the commitment.")
            return redirect(url_for("commitments.index", intervention_id=intervention_id))
    return _page("interventions/commitment_edit.html", item, form, problems, editing=commitment)


@bp.route("/<int:commitment_id>/delete", methods=["POST"])
@require("can_manage_interventions")
def delete(intervention_id: int, commitment_id: int) -> Any:
    _own_intervention(intervention_id)
    _its_commitment(intervention_id, commitment_id)
    commitment_service.delete_commitment(instance(), get_db(), commitment_id, actor=current_user.actor)
    flash("Removed the commitment.")
    return redirect(url_for("commitments.index", intervention_id=intervention_id))


def _own_intervention(intervention_id: int) -> dict[str, Any]:
    # Only the providing organisation states what its intervention promised.
    item = interventions.get_intervention(get_db(), intervention_id)
    if item is None or item["provider_id"] != current_user.organisation_id:
        abort(404)
    return item


def _submitted() -> dict[str, Any]:
    form: dict[str, Any] = request.form.to_dict()
    form["domains"] = request.form.getlist("domains")
    return form


def _page(template: str, item: dict[str, Any], form: dict[str, Any], problems: dict[str, str], editing: Any) -> Any:
    return render_form(
        template,
        problems,
        intervention=item,
        commitments=commitments.list_commitments(get_db(), item["id"]),
        form=form,
        editing=editing,
        domains=commitments.domain_choices(),
        contributions=[
            ("inherent", "Inherent: the main subject of the contract"),
            ("additional", "Additional: an added social value commitment"),
        ],
        contribution_words=CONTRIBUTIONS,
    )


def _its_commitment(intervention_id: int, commitment_id: int) -> dict[str, Any]:
    """The commitment, if it is this intervention's; 404 otherwise (an id from another intervention included)."""
    commitment = commitments.get_commitment(get_db(), commitment_id)
    if commitment is None or commitment["intervention_id"] != intervention_id:
        abort(404)
    return commitment
