"""Web layer: blueprints, login, CSRF, security headers and the per-request store connection.

Views only translate requests and errors: a change goes through a use case (stories.services),
a page reads the domain (stories.*); neither reaches the adapters (pipelines/).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils
from flask import Flask, abort, g, render_template, request
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.routing import IntegerConverter

from stories import audit, auth
from stories.db import connect
from stories.evidence import MAX_EVIDENCE_BYTES
from stories.instance import Instance
from stories.outcome_tags import evidence_span, has_evidence
from stories.outcomes import domain_label
from stories.text import paragraphs
from stories.validation import MAX_INTEGER, Invalid
from stories.web.session import SharedSessionInterface
from stories.web.uploads import UploadRequest, allow_uploads

login_manager = LoginManager()
_thread = threading.local()
csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from static/.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self' {datasette}; frame-ancestors 'none'"
)


class StoredId(IntegerConverter):
    """Every <int:...> in the app's URLs: an id past SQLite's integers matches no route (404) rather than failing a query."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any):
        super().__init__(url_map, *args, **{"max": MAX_INTEGER, **kwargs})


@dataclasses.dataclass
class Refusal:
    """What a use case refused, field by field (empty when it went through)."""

    problems: dict[str, str] = dataclasses.field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.problems)

    @property
    def message(self) -> str:
        """Every problem in one line, for a flash above a page that has no field to put them by."""
        return " ".join(self.problems.values())


@contextmanager
def refusal() -> Iterator[Refusal]:
    """Run a use case; its Invalid becomes the Refusal's problems, so the view can send the form back with them.

    Code after the failing call inside the block is skipped, as with any exception.
    """
    refused = Refusal()
    try:
        yield refused
    except Invalid as error:
        refused.problems = error.problems


def render_form(template: str, problems: dict[str, str], **context: Any) -> tuple[str, int]:
    """A page with a form: 422 when it comes back with problems (nothing was saved), else 200."""
    return render_template(template, problems=problems, **context), (422 if problems else 200)


def page_number(pages: int) -> int:
    """?page= as a page that exists: missing or junk is the first page, past the end the last."""
    page = request.args.get("page", 1, type=int)
    return min(max(1, page), max(1, pages))


class WebUser(UserMixin):
    """A logged-in user as Flask-Login sees them: the domain user plus their session token."""

    def __init__(self, user: auth.User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.token

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, name)


def instance() -> Instance:
    from flask import current_app

    return Instance.from_env(current_app.config["INSTANCE"])


def get_db() -> sqlite_utils.Database:
    """This thread's connection to the working store, opened once and kept for later requests."""
    if "db" not in g:
        path = str(instance().store_path)
        connections = _thread.__dict__.setdefault("connections", {})
        if path not in connections:
            connections[path] = connect(path)
        g.db = connections[path]
    return g.db


def close_db(_: BaseException | None = None) -> None:
    """End of request: never leave a transaction (or its snapshot of the WAL) open on a kept connection."""
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.rollback()


def require(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse (403) unless the logged-in user's role has this can_* permission."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not getattr(current_user.role, permission)():
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


@login_manager.user_loader
def load_user(token: str) -> WebUser | None:
    user = auth.user_for_session(get_db(), token)
    return WebUser(user, token) if user else None


def init_app(app: Flask) -> None:
    from stories.web import (
        assurance_views,
        auth_views,
        case_studies_views,
        commitments_views,
        consent_views,
        dashboard_views,
        delivery_views,
        exports_views,
        interventions_views,
        msc_views,
        recordings_views,
        statements_views,
        stories_views,
        storyteller_views,
        tags_views,
    )

    app.url_map.converters["int"] = StoredId  # before the blueprints' rules are made
    app.session_interface = SharedSessionInterface()
    app.request_class = UploadRequest
    app.teardown_appcontext(close_db)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    app.before_request(allow_uploads)  # before CSRF protection reads the form
    csrf.init_app(app)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(stories_views.bp)
    app.register_blueprint(interventions_views.bp)
    app.register_blueprint(consent_views.bp)
    app.register_blueprint(exports_views.bp)
    app.register_blueprint(recordings_views.bp)
    app.register_blueprint(tags_views.bp)
    app.register_blueprint(statements_views.bp)
    app.register_blueprint(assurance_views.bp)
    app.register_blueprint(case_studies_views.bp)
    app.register_blueprint(dashboard_views.bp)
    app.register_blueprint(msc_views.bp)
    app.register_blueprint(commitments_views.bp)
    app.register_blueprint(delivery_views.bp)
    app.register_blueprint(storyteller_views.mine)
    app.register_blueprint(storyteller_views.receipts)
    _init_babel(app)
    app.add_url_rule("/", endpoint="index", view_func=stories_views.home)

    @app.before_request
    def note_where_the_audit_log_ends() -> None:
        if request.method == "POST" and current_user.is_authenticated:
            g.audit_mark = (audit.last_id(get_db()), current_user.actor)  # the actor too: a POST may log them out

    @app.after_request
    def published_files_follow_the_change(response: Any) -> Any:
        """Whatever a request changed (every change to a story is audited, the m007 triggers' included),
        no published file may go on showing a story in words the store no longer allows."""
        noted = g.pop("audit_mark", None)
        if noted is not None and response.status_code < 400:
            from stories.services.publishing import retract_stale

            mark, actor = noted
            retract_stale(instance(), get_db(), audit.stories_since(get_db(), mark), actor=actor)
        return response

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(datasette=app.config["DATASETTE_URL"])
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Referrer-Policy", "same-origin")  # the storyteller's pages send none at all
        if request.endpoint != "static":
            # Story pages must not linger in shared computers' caches.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return render_template(
            "error.html",
            title="This form has expired",
            message="Please go back, reload the page and submit again. " + error.description,
        ), 400

    for code, title in ((403, "Not allowed"), (404, "Not found"), (413, "Too large")):
        app.register_error_handler(code, functools.partial(_error_page, code=code, title=title))

    @app.context_processor
    def globals_for_templates() -> dict[str, Any]:
        return {
            "datasette_url": app.config["DATASETTE_URL"],
            "labelled": labelled,
            "copies_to_destroy": copies_to_destroy,
            "evidence_chunks": evidence_chunks,
            "has_evidence": has_evidence,
            "paragraphs": paragraphs,
            "domain_label": domain_label,
            "msc_notices": msc_notices,
            "storyteller_notices": storyteller_views.unseen_notices,
            "evidence_megabytes": MAX_EVIDENCE_BYTES // (1024 * 1024),
            "person": lambda actor: auth.actor_name(get_db(), actor),
        }


def _init_babel(app: Flask) -> None:
    """One catalogue for the storyteller's pages and receipt (stories/translations); English, the source, ships alone."""
    from flask_babel import Babel

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).resolve().parent.parent / "translations"))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=lambda: app.config["BABEL_DEFAULT_LOCALE"])


def copies_to_destroy() -> int:
    """How many exported copies this user has been asked to destroy (shown on every page)."""
    from stories.exports import awaiting_destruction

    if not current_user.is_authenticated:
        return 0
    return len(awaiting_destruction(get_db(), current_user.id))


def msc_notices() -> list[dict[str, Any]]:
    """Panel choices of stories this user recorded, to pass on to the storyteller."""
    from stories.msc import unseen_choices

    if not current_user.is_authenticated or not current_user.role.can_record_stories():
        return []
    return unseen_choices(get_db(), current_user.id)


def evidence_chunks(text: str, tags: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Split a story's text where evidence spans begin and end, so each piece knows which tags cover it.

    The highlight is where each tag's evidence words stand (as published), not wherever stale offsets point.
    """
    spans = [(tag, span) for tag in tags if tag["status"] != "rejected" and (span := evidence_span(text, tag))]
    cuts = sorted({0, len(text), *(offset for _, span in spans for offset in span)})
    return [
        (text[a:b], [tag for tag, (start, end) in spans if start <= a and b <= end])
        for a, b in zip(cuts, cuts[1:], strict=False)
        if a < b
    ]


def labelled(values: Any) -> list[tuple[str, str]]:
    """(value, label) pairs for a form's choices."""
    from stories.consent import LABELS

    return [(value, LABELS.get(value, value)) for value in values]


def _error_page(error: Exception, *, code: int, title: str) -> Any:
    messages = {
        403: "Your account does not allow this page.",
        404: "There is nothing here, or it belongs to another organisation.",
        413: "That was more than this page accepts, so nothing was saved. Please go back and try again with less.",
    }
    return render_template("error.html", title=title, message=messages[code]), code
