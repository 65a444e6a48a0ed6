"""The storyteller's own page (no account: their private link or short code) and the receipt a worker gives them.

Every string these pages show goes through Flask-Babel's catalogue (`_`, `lazy_gettext`), so a Welsh
catalogue needs no code change. A link that does not work gets one page, whatever the reason (never
issued, revoked, replaced, past its review date, erased), with one status. Once opened, the link's
number rides in a signed cookie (path /mine) and the browser is sent to /mine/story, so the token
leaves the address bar and its history; nothing on these pages sends a referrer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import segno
from flask import Blueprint, Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup

from stories import auth, consent, storyteller_links, storyteller_notices
from stories.clock import now, today
from stories.services import storyteller as storyteller_service
from stories.storyteller_links import CODE_FAILED, TOKEN_FAILED, USED, Issued, Link
from stories.web import get_db, instance, refusal, render_form, require
from stories.web.stories_views import story_or_404

mine = Blueprint("mine", __name__, url_prefix="/mine")
receipts = Blueprint("receipts", __name__, url_prefix="/stories")

COOKIE = "storyteller_link"
COOKIE_MAX_AGE = 2 * 60 * 60  # an open page lasts two hours; the link itself opens it again

AUDIENCE_WORDS = {
    consent.TEAM: lazy_gettext("Our team: the people who work with you"),
    consent.COMMISSIONERS: lazy_gettext("Commissioners: the people who pay for the service, after they log in"),
    consent.BOARD: lazy_gettext("Our board, in reports about our work"),
    consent.PUBLIC: lazy_gettext("Anyone, on our public website"),
}
IDENTITY_WORDS = {
    consent.NAMED: lazy_gettext("Your full name is shown"),
    consent.FIRST_NAME: lazy_gettext("Only your first name is shown"),
    consent.PSEUDONYM: lazy_gettext("A made-up name is shown instead of yours"),
    consent.ANONYMOUS: lazy_gettext("No name is shown"),
}
RECIPIENT_WORDS = {  # who the link and receipt are for: whoever gave consent
    "storyteller": lazy_gettext("the storyteller"),
    "parent_guardian": lazy_gettext("the storyteller's parent or guardian"),
    "advocate": lazy_gettext("the storyteller's advocate"),
}
DONE_WORDS = {
    storyteller_notices.CONFIRMED: lazy_gettext("You told us your story is right."),
    storyteller_notices.NARROWED: lazy_gettext("You changed who can see your story, and how you are named."),
    storyteller_notices.WITHDREW: lazy_gettext(
        "You withdrew your consent. Your story has been taken out of everything we publish."
    ),
    storyteller_notices.ASKED_ERASURE: lazy_gettext(
        "You asked us to erase your story. It has been taken out of everything we publish,"
        " and your worker has been asked to erase it."
    ),
}


def _words() -> dict[str, Any]:
    return {
        "audience_words": AUDIENCE_WORDS,
        "identity_words": IDENTITY_WORDS,
        "recipient_words": RECIPIENT_WORDS,
        "consent": consent,
    }


# --- the storyteller's side --------------------------------------------------------------------------------


@mine.after_request
def no_referrer(response: Response) -> Response:
    # The app's own headers follow (stories.web); this one is stricter than its default and kept.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@mine.route("", methods=["GET", "POST"])
def enter_code() -> Any:
    typed = ""
    problems: dict[str, str] = {}
    if request.method == "POST":
        typed = request.form.get("code", "")[:40]
        wait = storyteller_links.minutes_to_wait(get_db(), _address(), now(), code=True)
        if wait:
            return _too_many(wait)
        link = storyteller_links.open_by_code(get_db(), typed, today())
        if link is not None:
            return _opened(link)
        storyteller_links.note_attempt(get_db(), _address(), CODE_FAILED, now())
        problems["code"] = _(
            "That code does not work. Check it against your receipt, or ask the organisation that gave it to you."
        )
    return render_form("mine/code.html", problems, typed=typed)


@mine.route("/<token>")
def open_link(token: str) -> Any:
    wait = storyteller_links.minutes_to_wait(get_db(), _address(), now())
    if wait:
        return _too_many(wait)
    link = storyteller_links.open_by_token(get_db(), token[:100], today())
    if link is None:
        storyteller_links.note_attempt(get_db(), _address(), TOKEN_FAILED, now())
        return _not_working()
    return _opened(link)


@mine.route("/story")
def story() -> Any:
    link = _link()
    if not isinstance(link, Link):
        return link
    story_id = link.story_id
    return render_template(
        "mine/story.html",
        link=link,
        shown=storyteller_service.as_published(get_db(), story_id),
        copies=storyteller_service.copies_made(get_db(), story_id),
        title_as_told=_title(story_id),
        problems={},
        **_words(),
    )


@mine.route("/story/right", methods=["POST"])
def right() -> Any:
    link = _link()
    if not isinstance(link, Link):
        return link
    storyteller_service.confirm_right(instance(), get_db(), link)
    return _done(link, storyteller_notices.CONFIRMED)


@mine.route("/story/narrow", methods=["POST"])
def narrow() -> Any:
    link = _link()
    if not isinstance(link, Link):
        return link
    with refusal() as refused:
        storyteller_service.narrow(
            instance(), get_db(), link, request.form.getlist("audiences"), request.form.get("identity_level", "")
        )
    if refused:
        return render_template(
            "mine/story.html",
            link=link,
            shown=storyteller_service.as_published(get_db(), link.story_id),
            copies=storyteller_service.copies_made(get_db(), link.story_id),
            title_as_told=_title(link.story_id),
            problems={field: _(message) for field, message in refused.problems.items()},
            **_words(),
        ), 422
    return _done(storyteller_links.open_by_id(get_db(), link.id, today()) or link, storyteller_notices.NARROWED)


@mine.route("/story/withdraw", methods=["GET", "POST"])
def withdraw() -> Any:
    return _withdraw(erasure=False)


@mine.route("/story/erase", methods=["GET", "POST"])
def erase() -> Any:
    return _withdraw(erasure=True)


def _withdraw(*, erasure: bool) -> Any:
    link = _link()
    if not isinstance(link, Link):
        return link
    if request.method == "GET":
        return render_template("mine/withdraw.html", link=link, erasure=erasure, title_as_told=_title(link.story_id))
    storyteller_service.withdraw(instance(), get_db(), link, erasure=erasure)
    done = storyteller_notices.ASKED_ERASURE if erasure else storyteller_notices.WITHDREW
    return _done(storyteller_links.open_by_id(get_db(), link.id, today()) or link, done)


def _done(link: Link, action: str) -> Any:
    return render_template(
        "mine/done.html",
        link=link,
        said=DONE_WORDS[action],
        moment=now().strftime("%d %B %Y, %H:%M UTC"),
        title_as_told=_title(link.story_id),
        organisation=_organisation(link.story_id),
        **_words(),
    )


def _link() -> Link | Any:
    """The link this browser opened (its signed cookie), still live and within its rate limit; else the page to send."""
    try:
        link_id = _serializer().loads(request.cookies.get(COOKIE, ""), max_age=COOKIE_MAX_AGE)
    except BadSignature:
        link_id = None
    link = storyteller_links.open_by_id(get_db(), link_id, today()) if isinstance(link_id, int) else None
    if link is None:
        return _not_working()
    wait = storyteller_links.minutes_to_wait(get_db(), _address(), now(), link_id=link.id)
    if wait:
        return _too_many(wait)
    storyteller_links.note_attempt(get_db(), _address(), USED, now(), link.id)
    return link


def _opened(link: Link) -> Any:
    storyteller_links.note_attempt(get_db(), _address(), USED, now(), link.id)
    response = redirect(url_for("mine.story"), code=303)
    response.set_cookie(
        COOKIE,
        _serializer().dumps(link.id),
        max_age=COOKIE_MAX_AGE,
        path="/mine",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def _not_working() -> Any:
    response = make_response(render_template("mine/not_working.html"), 404)
    response.delete_cookie(COOKIE, path="/mine")
    return response


def _too_many(minutes: int) -> Any:
    return render_template("mine/too_many.html", minutes=minutes), 429


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="storyteller-link")


def _address() -> str:
    return request.remote_addr or "unknown"


def _title(story_id: int) -> str:
    from stories.records import get_story

    found = get_story(get_db(), story_id)
    return found.title if found else ""


def _organisation(story_id: int) -> str:
    from stories.records import get_story

    found = get_story(get_db(), story_id)
    return found.organisation if found else ""


# --- the worker's side: the receipt ------------------------------------------------------------------------


@receipts.route("/<int:story_id>/receipt", methods=["POST"])
@require("can_record_stories")
def issue(story_id: int) -> Any:
    story_or_404(story_id)
    issued = None
    with refusal() as refused:
        issued = storyteller_service.issue_receipt(get_db(), story_id, by=current_user.user)
    if refused or issued is None:
        return render_template("error.html", title=_("No receipt"), message=refused.message), 422
    return issued_receipt(issued)


def issued_receipt(issued: Issued) -> Any:
    """The receipt page, once: its link and code are never shown again (the store keeps only their hashes)."""
    return render_template("mine/receipt.html", pdf=False, **_receipt(issued))


@receipts.route("/<int:story_id>/receipt.pdf", methods=["POST"])
@require("can_record_stories")
def receipt_pdf(story_id: int) -> Any:
    story_or_404(story_id)
    token = request.form.get("token", "")[:100]
    link = storyteller_links.open_by_token(get_db(), token, today())
    if link is None or link.story_id != story_id:
        # Gone: a newer receipt replaced it (or there never was one); the story itself is there.
        return render_template("error.html", title=_("No receipt"), message=_("That receipt has been replaced.")), 410
    issued = Issued(link.id, story_id, token, request.form.get("code", "")[:20], link.addressed_to, link.consent.review_on)
    page = render_template("mine/receipt.html", pdf=True, **_receipt(issued))
    response = make_response(storyteller_service.receipt_pdf(page))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="consent-receipt-story-{story_id}.pdf"'
    return response


@receipts.route("/<int:story_id>/receipt/revoke", methods=["POST"])
@require("can_record_stories")
def revoke(story_id: int) -> Any:
    """A receipt lost or taken: its link and code stop working now (a new receipt can be given later)."""
    story_or_404(story_id)
    if storyteller_links.revoke(get_db(), story_id, actor=current_user.actor):
        flash("The storyteller's link and code no longer work.")
    return redirect(url_for("stories.view", story_id=story_id), code=303)


@receipts.route("/notices/<int:notice_id>/seen", methods=["POST"])
@require("can_record_stories")
def notice_seen(notice_id: int) -> Any:
    storyteller_notices.mark_seen(get_db(), notice_id, current_user.organisation_id)
    back = request.referrer or ""
    return redirect(back if back.startswith(request.host_url) else url_for("stories.index"), code=303)


def _receipt(issued: Issued) -> dict[str, Any]:
    from stories.records import get_story

    story = get_story(get_db(), issued.story_id)
    recorder = auth.get_user(get_db(), story.created_by) if story and story.created_by else None
    link = url_for("mine.open_link", token=issued.token, _external=True)
    qr = segno.make(link, error="m").svg_inline(scale=4, dark="#000", light="#fff", title=_("QR code for your private link"))
    return {
        "issued": issued,
        "story": story,
        "recorder": recorder.display_name if recorder else "",
        "link": link,
        "code": storyteller_links.grouped(issued.code) if len(issued.code) == storyteller_links.CODE_LENGTH else issued.code,
        "qr": Markup(qr),  # segno's own SVG of our link: no input of anyone's is in it but the URL, which it encodes
        "code_page": url_for("mine.enter_code", _external=True),
        "issued_on": dt.date.today(),
        **_words(),
    }


def unseen_notices() -> list[dict[str, Any]]:
    """What storytellers changed on their own pages, for the organisation's workers (shown on every page)."""
    if not current_user.is_authenticated or not current_user.role.can_record_stories():
        return []
    return storyteller_notices.unseen(get_db(), current_user.organisation_id)
