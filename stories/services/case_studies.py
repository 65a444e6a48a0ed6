"""Board case studies: what the builder shows, and exporting one (streamed, never kept, always registered)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlite_utils

from pipelines import case_study_render
from pipelines.case_study_render import Document, Export
from stories.auth import User
from stories.case_studies import BoardStory


def preview(board: BoardStory, case_study: dict[str, Any], quotes: list[str], *, by: User, today: dt.date) -> Document:
    """The case study as it would be exported today, for the builder page."""
    return case_study_render.build_document(board, case_study, quotes, exported_by=by.display_name, today=today)


def export_case_study(
    db: sqlite_utils.Database,
    case_study: dict[str, Any],
    board: BoardStory,
    kind: str,
    *,
    by: User,
    today: dt.date,
    static_dir: Path,
) -> Export:
    """Check consent again, render, and only then write the export register; Refused means nothing was exported."""
    return case_study_render.export_case_study(
        db,
        case_study,
        board,
        kind,
        user_id=by.id,
        actor=by.actor,
        exported_by=by.display_name,
        today=today,
        static_dir=static_dir,
    )
