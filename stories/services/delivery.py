"""A board pack: one contract's promises and delivery, with named case studies, as a PDF (streamed, never kept, registered)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from pipelines.board_pack import to_board_pack_pdf
from pipelines.case_study_render import STATIC, Export, build_document
from stories import audit, delivery
from stories.auth import User
from stories.case_studies import Refused, board_story, get_case_study, ready_for_export
from stories.consent import BOARD, COMMISSIONERS
from stories.exports import record_exports
from stories.instance import Instance

KIND = "board_pack"


def board_view(
    instance: Instance, db: sqlite_utils.Database, contract: str, period: str, *, by: User, today: dt.date
) -> delivery.Delivery | None:
    """The delivery view as a board paper shows it: every count, but only words from this organisation's stories
    whose consent includes the board today (as a case study's story must)."""
    view = delivery.load(instance.published_path(COMMISSIONERS), contract, period)
    if view is None:
        return None

    def may_read(story_id: int) -> bool:
        board = board_story(db, story_id, by.organisation_id, today)
        return board is not None and board.decision.allowed

    return delivery.as_the_board_may_read(view, may_read)


def export_board_pack(
    instance: Instance,
    db: sqlite_utils.Database,
    contract: str,
    period: str,
    case_study_ids: Iterable[int],
    *,
    by: User,
    today: dt.date,
    static_dir: Path = STATIC,
) -> Export:
    """Check consent again for every story whose words it holds, render, then register each; Refused exports nothing."""
    view = board_view(instance, db, contract, period, by=by, today=today)
    if view is None or not view.contract:
        raise Refused("Nothing has been published for commissioners yet, so there is no delivery to report.")
    documents, consents = [], {}
    for case_study_id in dict.fromkeys(case_study_ids):
        case_study = get_case_study(db, case_study_id, by.organisation_id)
        if case_study is None:
            raise Refused("One of the chosen case studies is no longer there.")
        board = board_story(db, case_study["story_id"], by.organisation_id, today)
        if board is None:
            raise Refused("One of the chosen case studies is no longer there.")
        quotes = ready_for_export(board, case_study)  # Refused, saying why, if the board may not read it today
        documents.append(build_document(board, case_study, [q.text for q in quotes], exported_by=by.display_name, today=today))
        consents[board.story.id] = board.story.consent.version
    for story_id in delivery.stories_quoted(view):
        board = board_story(db, story_id, by.organisation_id, today)
        consents[story_id] = board.story.consent.version if board and board.story.consent else None
    content = to_board_pack_pdf(view, documents, exported_by=by.display_name, today=today, static_dir=static_dir)
    record_exports(db, consents, user_id=by.id, actor=by.actor, kind=KIND, audience=BOARD)
    audit.record(db, by.actor, "delivery.board_pack", contract=view.contract, stories=sorted(consents))
    return Export(f"board-pack-{_safe(view.contract)}-{today.isoformat()}.pdf", "application/pdf", content)


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)[:60]
