"""Logging in and out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from stories import auth
from stories.web import WebUser, get_db

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = request.values.get("next", "")
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user = auth.authenticate(get_db(), username, request.form.get("password", ""), request.remote_addr or "unknown")
        except auth.LoginRefused as refused:
            return render_template("auth/login.html", error=str(refused), username=username, next=next_url), 401
        token = auth.start_session(get_db(), user)
        login_user(WebUser(user, token))
        return redirect(_safe_next(next_url) or url_for("index"))
    if current_user.is_authenticated and _safe_next(next_url):
        return redirect(_safe_next(next_url))
    return render_template("auth/login.html", next=next_url)


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def logout() -> Any:
    if request.method == "GET":
        return render_template("auth/logout.html")
    auth.end_session(get_db(), current_user.token)
    logout_user()
    return redirect(url_for("auth.login"))


def _safe_next(target: str) -> str | None:
    """Only return to this app or to our Datasette: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
        return target
    datasette = urlsplit(current_app.config["DATASETTE_URL"])
    if (parts.scheme, parts.netloc) == (datasette.scheme, datasette.netloc):
        return target
    return None
