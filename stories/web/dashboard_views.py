"""Placeholder: being written. Registered so the app's blueprints are wired in one place."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
