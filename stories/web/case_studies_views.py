"""Placeholder: being written. Registered so the app's blueprints are wired in one place."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("case_studies", __name__, url_prefix="/case-studies")
