"""A board pack: one contract's promises and delivery as a PDF section, followed by named case studies.

Rendered as the case studies are (pipelines/case_study_render.py: its templates, its print stylesheet,
WeasyPrint reading only the local static folder), from a view already cut to what the board may read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from markupsafe import Markup

from pipelines.case_study_render import STATIC, STYLESHEET, Document, _templates, to_pdf
from stories.delivery import Delivery, period_words
from stories.outcomes import DIRECTIONS

PACK_STYLESHEET = "board_pack.css"


def to_html(view: Delivery, case_studies: list[Document], *, exported_by: str, today: dt.date, static_dir: Path = STATIC) -> str:
    """The pack as one standalone page: both print stylesheets inlined, no links out (a board paper is read on paper)."""
    css = "\n".join((static_dir / name).read_text(encoding="utf-8") for name in (STYLESHEET, PACK_STYLESHEET))
    return (
        _templates()
        .get_template("delivery/board_pack.html")
        .render(
            view=view,
            case_studies=case_studies,
            css=Markup(css),  # our own files; escaping would break quoted font names
            directions=DIRECTIONS,
            period_words=period_words,
            story_link=None,
            evidence_link=None,
            exported=f"Exported from Storybank by {exported_by} on {today.isoformat()}.",
        )
    )


def to_board_pack_pdf(
    view: Delivery, case_studies: list[Document], *, exported_by: str, today: dt.date, static_dir: Path = STATIC
) -> bytes:
    return to_pdf(to_html(view, case_studies, exported_by=exported_by, today=today, static_dir=static_dir), static_dir)
