"""Most Significant Change rounds: shortlist stories in a domain, choose one, record why."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from stories import msc
from stories.outcomes import domain_label, person_level_domains
from stories.services import review
from stories.validation import whole_number
from stories.web import get_db, instance, refusal, render_form, require

bp = Blueprint("msc", __name__, url_prefix="/msc")


@bp.route("/", methods=["GET", "POST"])
@require("can_run_msc_rounds")
def index() -> Any:
    form: dict[str, Any] = {}
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = request.form.to_dict()
        with refusal() as refused:
            round_id = msc.create_round(
                get_db(), form, organisation_id=current_user.organisation_id, user_id=current_user.id, actor=current_user.actor
            )
        if not refused:
            return redirect(url_for("msc.round_page", round_id=round_id))
        problems = refused.problems
    domains = [(d, domain_label(d)) for d in person_level_domains()]
    return render_form(
        "msc/index.html", problems, rounds=msc.list_rounds(get_db(), current_user.organisation_id), form=form, domains=domains
    )


@bp.route("/<int:round_id>", methods=["GET", "POST"])
@require("can_run_msc_rounds")
def round_page(round_id: int) -> Any:
    round_ = _round_or_404(round_id)
    problems: dict[str, str] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = request.form.to_dict()
        with refusal() as refused:
            if request.form.get("action") == "shortlist":
                msc.shortlist(get_db(), round_, whole_number(request.form.get("story_id")) or 0, actor=current_user.actor)
                flash("Added to the shortlist.")
            else:
                review.choose_most_significant(instance(), get_db(), round_, form, by=current_user.user)
                flash("The panel's choice is recorded. The worker who recorded the story will see why it was chosen.")
        if not refused:
            return redirect(url_for("msc.round_page", round_id=round_id))
        problems = refused.problems
    return render_form("msc/round.html", problems, round=round_, eligible=msc.eligible_stories(get_db(), round_), form=form)


@bp.route("/<int:round_id>/seen", methods=["POST"])
@login_required
def seen(round_id: int) -> Any:
    msc.mark_seen(get_db(), round_id, user_id=current_user.id, actor=current_user.actor)
    flash("Thank you for passing it on.")
    return redirect(request.referrer or url_for("index"))


def _round_or_404(round_id: int) -> dict[str, Any]:
    round_ = msc.get_round(get_db(), round_id, current_user.organisation_id)
    if round_ is None:
        abort(404)
    return round_
