"""Interventions: the services, contracts and grants that produce the change stories tell of."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.db import write_transaction
from stories.organisations import slugify
from stories.validation import Problems, one_of, optional_text, parse_date, required_text

CONTRACT_REF_KINDS = ("local", "ocds", "360giving")
CONTRACT_REF_LABELS = {"local": "Local reference", "ocds": "OCDS contracting process (ocid)", "360giving": "360Giving grant id"}
FIELDS = (
    "name",
    "commissioner",
    "contract_ref",
    "contract_ref_kind",
    "social_value_theme",
    "starts_on",
    "ends_on",
    "description",
)


def validate_intervention(data: Mapping[str, Any]) -> dict[str, Any]:
    problems = Problems()
    values = {
        "name": required_text(problems, data, "name", "Name", 200),
        "commissioner": optional_text(problems, data, "commissioner", "Commissioning body", 200),
        "contract_ref": optional_text(problems, data, "contract_ref", "Contract or grant reference", 120),
        "contract_ref_kind": one_of(
            problems,
            {"contract_ref_kind": data.get("contract_ref_kind") or "local"},
            "contract_ref_kind",
            "Reference kind",
            CONTRACT_REF_KINDS,
        ),
        "social_value_theme": optional_text(problems, data, "social_value_theme", "Social Value Model theme", 120),
        "description": optional_text(problems, data, "description", "Description", 4000),
    }
    starts_on = parse_date(problems, data, "starts_on", "Start date", required=False)
    ends_on = parse_date(problems, data, "ends_on", "End date", required=False)
    if starts_on and ends_on and ends_on < starts_on:
        problems.add("ends_on", "The end date is before the start date.")
    ref, kind = values["contract_ref"], values["contract_ref_kind"]
    if ref and kind == "ocds" and not ref.startswith("ocds-"):
        problems.add("contract_ref", "An OCDS contracting process id starts with 'ocds-'.")
    if ref and kind == "360giving" and not ref.startswith("360G-"):
        problems.add("contract_ref", "A 360Giving grant id starts with '360G-'.")
    problems.raise_if_any()
    values["starts_on"] = starts_on.isoformat() if starts_on else None
    values["ends_on"] = ends_on.isoformat() if ends_on else None
    return values


def add_intervention(
    db: sqlite_utils.Database, data: Mapping[str, Any], *, provider_id: int, actor: str, slug: str | None = None
) -> int:
    values = validate_intervention(data)
    stamp = now_iso()
    with write_transaction(db):
        slug = slug or _free_slug(db, slugify(values["name"]))
        cursor = db.execute(
            "INSERT INTO interventions (slug, provider_id, created_at, updated_at, " + ", ".join(FIELDS) + ")"
            " VALUES (?, ?, ?, ?, " + ", ".join("?" for _ in FIELDS) + ")",
            [slug, provider_id, stamp, stamp, *(values[f] for f in FIELDS)],
        )
        audit.record(db, actor, "intervention.add", intervention_id=cursor.lastrowid)
        return cursor.lastrowid


def update_intervention(db: sqlite_utils.Database, intervention_id: int, data: Mapping[str, Any], *, actor: str) -> None:
    values = validate_intervention(data)
    with write_transaction(db):
        db.execute(
            "UPDATE interventions SET " + ", ".join(f"{f} = ?" for f in FIELDS) + ", updated_at = ? WHERE id = ?",
            [*(values[f] for f in FIELDS), now_iso(), intervention_id],
        )
        audit.record(db, actor, "intervention.update", intervention_id=intervention_id)


def get_intervention(db: sqlite_utils.Database, intervention_id: int) -> dict[str, Any] | None:
    rows = list(db.query(LIST_SQL + " WHERE interventions.id = ?", [intervention_id]))
    return rows[0] if rows else None


def list_interventions(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query(LIST_SQL + " ORDER BY interventions.name"))


def story_counts(db: sqlite_utils.Database, organisation_id: int) -> dict[int, int]:
    """Stories of one organisation linked to each intervention: a count over others' stories would tell of them."""
    return dict(
        db.execute(
            "SELECT story_interventions.intervention_id, count(*) FROM story_interventions"
            " JOIN stories ON stories.id = story_interventions.story_id WHERE stories.organisation_id = ? GROUP BY 1",
            [organisation_id],
        ).fetchall()
    )


def intervention_id_by_slug(db: sqlite_utils.Database, slug: str) -> int | None:
    row = db.execute("SELECT id FROM interventions WHERE slug = ?", [slug]).fetchone()
    return row[0] if row else None


def _free_slug(db: sqlite_utils.Database, base: str) -> str:
    slug, n = base or "intervention", 1
    while db.execute("SELECT 1 FROM interventions WHERE slug = ?", [slug]).fetchone():
        n += 1
        slug = f"{base}-{n}"
    return slug


# Field names are constants above, never user input, so joining them into SQL is safe.
LIST_SQL = (
    "SELECT interventions.*, organisations.name AS provider"
    " FROM interventions JOIN organisations ON organisations.id = interventions.provider_id"
)
