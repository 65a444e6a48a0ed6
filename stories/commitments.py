"""Commitments: what an intervention (and so its contract or grant) promised to change, in its own words.

Each commitment is mapped to one or more domains of the default outcome framework (several commitments
may share a domain), is marked inherent (the main subject of the contract) or additional (an added
social value commitment), covers a period and says who it is for. No money: a promise is words.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlite_utils

from stories import audit
from stories.assurance import CONTRIBUTIONS
from stories.clock import now_iso
from stories.db import write_transaction
from stories.frameworks import default_framework
from stories.outcomes import domain_label
from stories.spreadsheet import read_as_csv
from stories.validation import Invalid, Problems, one_of, optional_text, parse_date, required_text, split_list, text

FIELDS = ("outcome", "domains", "contribution", "period_from", "period_to", "for_whom")
SOURCES = ("entered", "csv", "360giving", "ocds")
CSV_COLUMNS = ("intervention", "outcome", "domains", "contribution", "period_from", "period_to", "for_whom")
MAX_OUTCOME = 1000
# A contract's promises run to dozens; more than this in one file is the wrong file (an import of
# 200,000 rows made the delivery view a 72 MB page), and each part of a long list can be imported in turn.
MAX_IMPORT_ROWS = 1000


def domain_choices() -> list[tuple[str, str]]:
    """The default framework's domains, person-level first, as (id, label)."""
    framework = default_framework()
    return [(domain.id, domain.label) for domain in framework.domains]


def validate_commitment(data: Mapping[str, Any]) -> dict[str, Any]:
    """A commitment as stored; domains may be given by id or by label (a spreadsheet names them in words)."""
    problems = Problems()
    values: dict[str, Any] = {
        "outcome": required_text(
            problems, data, "outcome", "The outcome", MAX_OUTCOME, missing="Write the outcome as the contract words it."
        ),
        "for_whom": optional_text(problems, data, "for_whom", "Who it is for", 300),
        "contribution": one_of(
            problems,
            data,
            "contribution",
            "Inherent or additional",
            CONTRIBUTIONS,
            missing="Choose whether this is the main subject of the contract (inherent) or an added commitment.",
        ),
    }
    values["domains"] = _domains(problems, data.get("domains"))
    period_from = parse_date(problems, data, "period_from", "From", required=False)
    period_to = parse_date(problems, data, "period_to", "To", required=False)
    if period_from and period_to and period_to < period_from:
        problems.add("period_to", "The period ends before it starts.")
    problems.raise_if_any()
    values["period_from"] = period_from.isoformat() if period_from else None
    values["period_to"] = period_to.isoformat() if period_to else None
    return values


def _domains(problems: Problems, raw: Any) -> list[str]:
    by_word = {}
    for domain_id, label in domain_choices():
        by_word[domain_id.lower()] = domain_id
        by_word[label.lower()] = domain_id
    chosen: list[str] = []
    unknown: list[str] = []
    for item in split_list(raw):
        domain = by_word.get(item.lower())
        if domain is None:
            unknown.append(item[:40])
        elif domain not in chosen:
            chosen.append(domain)
    if unknown:
        names = ", ".join(label for _, label in domain_choices())
        problems.add("domains", f"No outcome domain called {', '.join(map(repr, unknown))}. The domains are: {names}.")
    elif not chosen:
        problems.add("domains", "Choose at least one outcome domain this commitment is about.")
    return chosen


def add_commitment(
    db: sqlite_utils.Database, intervention_id: int, data: Mapping[str, Any], *, actor: str, source: str = "entered"
) -> int:
    values = validate_commitment(data)
    with write_transaction(db):
        commitment_id = _insert(db, intervention_id, values, source)
        audit.record(db, actor, "commitment.add", intervention_id=intervention_id, commitment_id=commitment_id)
    return commitment_id


def update_commitment(db: sqlite_utils.Database, commitment_id: int, data: Mapping[str, Any], *, actor: str) -> None:
    values = validate_commitment(data)
    with write_transaction(db):
        db.execute(
            "UPDATE commitments SET outcome = ?, domains = ?, contribution = ?, period_from = ?, period_to = ?, for_whom = ?,"
            " updated_at = ? WHERE id = ?",
            [*_stored(values), now_iso(), commitment_id],
        )
        audit.record(db, actor, "commitment.update", commitment_id=commitment_id)


def delete_commitment(db: sqlite_utils.Database, commitment_id: int, *, actor: str) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM commitments WHERE id = ?", [commitment_id])
        audit.record(db, actor, "commitment.delete", commitment_id=commitment_id)


def get_commitment(db: sqlite_utils.Database, commitment_id: int) -> dict[str, Any] | None:
    rows = list(db.query(LIST_SQL + " WHERE commitments.id = ?", [commitment_id]))
    return _read(rows[0]) if rows else None


def list_commitments(db: sqlite_utils.Database, intervention_id: int | None = None) -> list[dict[str, Any]]:
    """Commitments with their intervention's name and contract; every one, or one intervention's."""
    if intervention_id is None:
        rows = db.query(LIST_SQL + ORDER)
    else:
        rows = db.query(LIST_SQL + " WHERE commitments.intervention_id = ?" + ORDER, [intervention_id])
    return [_read(row) for row in rows]


def as_form(commitment: Mapping[str, Any]) -> dict[str, Any]:
    """A stored commitment as its form shows it."""
    return {**{field: commitment[field] or "" for field in FIELDS}, "domains": list(commitment["domains"])}


def import_commitments(db: sqlite_utils.Database, content: bytes, *, organisation_id: int, actor: str) -> int:
    """Check every row of a CSV file, then save them all in one transaction; any problem rejects the whole file.

    `intervention` names the intervention by its slug, its name, or its contract reference (when only
    one of this organisation's interventions has it): an organisation imports only its own promises.
    """
    rows = _csv_rows(content)
    owned = list(db.query("SELECT id, slug, name, contract_ref FROM interventions WHERE provider_id = ?", [organisation_id]))
    problems: dict[str, str] = {}
    checked: list[tuple[int, dict[str, Any]]] = []
    for number, row in rows:
        found: dict[str, str] = {}
        intervention_id = _named_intervention(owned, text(row.get("intervention")), found)
        try:
            values = validate_commitment(row)
        except Invalid as error:
            found.update(error.problems)
        else:
            if intervention_id is not None:
                checked.append((intervention_id, values))
        for field, message in found.items():
            problems[f"row {number}, {field}"] = message
    if problems:
        raise Invalid(problems)
    with write_transaction(db):
        ids = [_insert(db, intervention_id, values, "csv") for intervention_id, values in checked]
        audit.record(db, actor, "commitment.import", commitments=len(ids))
    return len(ids)


def _csv_rows(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) for each row with anything in it; the header must name the columns."""
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Invalid({"file": f"The file is not UTF-8 text (byte {error.start}). Save it as CSV UTF-8."}) from None
    with read_as_csv():
        reader = csv.DictReader(io.StringIO(decoded, newline=""))
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [column for column in ("intervention", "outcome", "domains", "contribution") if column not in header]
        if missing:
            raise Invalid({"header": f"missing column(s): {', '.join(missing)}. The columns are: {', '.join(CSV_COLUMNS)}."})
        reader.fieldnames = header
        rows = []
        for row in reader:
            if any(text(value) for value in row.values() if isinstance(value, str)):
                rows.append((reader.line_num, row))
                if len(rows) > MAX_IMPORT_ROWS:
                    raise Invalid(
                        {
                            "file": f"The file has more than {MAX_IMPORT_ROWS:,} commitments. A contract's promises are"
                            " rarely more than a few dozen: check it is the right file, or split it and import each part."
                        }
                    )
    if not rows:
        raise Invalid({"file": "The file has no commitments in it."})
    return rows


def _named_intervention(owned: Sequence[Mapping[str, Any]], name: str, found: dict[str, str]) -> int | None:
    if not name:
        found["intervention"] = "Name the intervention (its name, or its contract or grant reference)."
        return None
    for key in ("slug", "name"):
        matches = [item["id"] for item in owned if (item[key] or "").lower() == name.lower()]
        if len(matches) == 1:
            return matches[0]
    matches = [item["id"] for item in owned if item["contract_ref"] and item["contract_ref"] == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        found["intervention"] = f"{len(matches)} of your interventions have the reference {name[:40]!r}: name one of them."
    else:
        found["intervention"] = f"None of your organisation's interventions is called {name[:40]!r}."
    return None


def _insert(db: sqlite_utils.Database, intervention_id: int, values: Mapping[str, Any], source: str) -> int:
    stamp = now_iso()
    cursor = db.execute(
        "INSERT INTO commitments (intervention_id, outcome, domains, contribution, period_from, period_to, for_whom,"
        " source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [intervention_id, *_stored(values), source, stamp, stamp],
    )
    return int(cursor.lastrowid)


def _stored(values: Mapping[str, Any]) -> list[Any]:
    return [
        values["outcome"],
        json.dumps(values["domains"]),
        values["contribution"],
        values["period_from"],
        values["period_to"],
        values["for_whom"],
    ]


def _read(row: Mapping[str, Any]) -> dict[str, Any]:
    domains = json.loads(row["domains"])
    return {**row, "domains": domains, "domain_labels": [domain_label(domain) for domain in domains]}


LIST_SQL = (
    "SELECT commitments.*, interventions.name AS intervention, interventions.provider_id, interventions.contract_ref"
    " FROM commitments JOIN interventions ON interventions.id = commitments.intervention_id"
)
ORDER = " ORDER BY interventions.name, commitments.period_from, commitments.contribution DESC, commitments.id"
