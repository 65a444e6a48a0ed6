"""Import existing stories with their consent from CSV or JSONL: all rows or none."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import sqlite_utils

from stories.clock import today as utc_today
from stories.db import write_transaction
from stories.evidence import keep_form
from stories.records import check_story, record_story
from stories.spreadsheet import read_as_csv
from stories.validation import Invalid


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .csv (with a header) or .jsonl file; unreadable lines are reported, not skipped."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Invalid({"file": f"The file is not UTF-8 text (byte {error.start})."}) from None
    if path.suffix.lower() == ".jsonl":
        rows, problems = [], {}
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                problems[f"row {number}"] = f"not valid JSON ({error.msg})"
                continue
            if not isinstance(row, dict):
                problems[f"row {number}"] = "each line must be a JSON object"
                continue
            rows.append(row)
        if problems:
            raise Invalid(problems)
        return rows
    if path.suffix.lower() == ".csv":
        with read_as_csv():
            reader = csv.DictReader(io.StringIO(content))
            missing = [c for c in ("title", "body", "told_on", "storyteller_reference") if c not in (reader.fieldnames or [])]
            if missing:
                raise Invalid({"header": f"missing column(s): {', '.join(missing)}"})
            return list(reader)
    raise Invalid({"file": "Import a .csv or .jsonl file."})


def import_stories(
    db: sqlite_utils.Database, path: Path, *, organisation_id: int, actor: str, evidence_dir: Path, today: dt.date | None = None
) -> int:
    """Check every row, then save them all in one transaction; any problem rejects the whole file.

    Signed forms named by `evidence_path` are stored first, as uploads of `actor`, so each row's
    consent is checked against its real evidence; a rejected file leaves them to the sweep, like a
    form sent back in the app.
    """
    today = today or utc_today()
    rows = [dict(row) for row in read_rows(path)]
    if not rows:
        raise Invalid({"file": "The file has no stories in it."})
    problems: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        found: dict[str, str] = {}
        try:
            _attach_form(db, row, path.parent, evidence_dir, actor)
        except Invalid as error:
            found.update(error.problems)
        try:
            check_story(db, row, today, organisation_id=organisation_id, actor=actor)
        except Invalid as error:
            found.update(error.problems)
        for field, message in found.items():
            problems[f"row {number}, {field}"] = message
    if problems:
        raise Invalid(problems)

    with write_transaction(db):
        for number, row in enumerate(rows, start=1):
            try:
                record_story(db, row, organisation_id=organisation_id, actor=actor, today=today)
            except Invalid as error:
                raise Invalid({f"row {number}, {field}": m for field, m in error.problems.items()}) from None
    return len(rows)


def _attach_form(db: sqlite_utils.Database, row: dict[str, Any], folder: Path, evidence_dir: Path, actor: str) -> None:
    """Store the signed form a row names, checked by content, as this import's own upload."""
    evidence = row.get("evidence_path")
    if not evidence:
        return
    if not (folder / str(evidence)).is_file():
        raise Invalid({"evidence_path": f"no file {evidence!r} next to the import file"})
    try:
        row["evidence_file"] = keep_form(db, evidence_dir, (folder / str(evidence)).read_bytes(), actor)
    except Invalid as error:
        raise Invalid({"evidence_path": " ".join(error.problems.values())}) from None
