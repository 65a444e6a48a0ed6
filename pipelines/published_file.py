"""The tables of a published file: what commissioners and the public can search and facet.

Written once into a fresh file by pipelines/publish.py. Denormalised on purpose: each outcome
row carries the facets a commissioner filters by (domain, direction, intervention, provider,
commissioning body, contract, area, year, verification), so Datasette needs no joins.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from stories import outcomes
from stories.assurance import LEVELS
from stories.clock import now_iso
from stories.consent import PUBLIC

UNVERIFIED = LEVELS[()]
SMALL_COUNT = 5  # in the public file, counts under this are suppressed: small groups can identify people

SCHEMA = [
    """CREATE TABLE stories (
        id INTEGER PRIMARY KEY, title TEXT, body TEXT, told_on TEXT, year INTEGER, organisation TEXT, area TEXT,
        storyteller TEXT, identity_level TEXT, told_as TEXT, verification TEXT, interventions TEXT, providers TEXT,
        commissioners TEXT, contracts TEXT, outcomes TEXT, most_significant_change TEXT)""",
    """CREATE TABLE interventions (
        id INTEGER PRIMARY KEY, name TEXT, provider TEXT, commissioner TEXT, contract_ref TEXT, contract_ref_kind TEXT,
        social_value_theme TEXT, starts_on TEXT, ends_on TEXT, description TEXT, stories INTEGER)""",
    """CREATE TABLE story_outcomes (
        id INTEGER PRIMARY KEY, story_id INTEGER REFERENCES stories(id), title TEXT, domain TEXT, domain_label TEXT,
        direction TEXT, evidence TEXT, contribution TEXT, contribution_statement TEXT,
        intervention_id INTEGER REFERENCES interventions(id), intervention TEXT, provider TEXT, commissioner TEXT,
        contract_ref TEXT, organisation TEXT, area TEXT, year INTEGER, verification TEXT, framework TEXT)""",
    """CREATE TABLE story_interventions (
        story_id INTEGER REFERENCES stories(id), intervention_id INTEGER REFERENCES interventions(id),
        PRIMARY KEY (story_id, intervention_id))""",
    """CREATE TABLE outcome_summary (
        domain_label TEXT, direction TEXT, intervention TEXT, verified_stories INTEGER, stories INTEGER, shown TEXT)""",
    "CREATE TABLE publication (audience TEXT, built_at TEXT, stories INTEGER, valid_until TEXT)",
]


def write_tables(db: sqlite_utils.Database, audience: str, rows: list[dict[str, Any]], interventions: list[Mapping[str, Any]]) -> None:
    for statement in SCHEMA:
        db.execute(statement)
    by_id = {item["id"]: item for item in interventions}
    db["interventions"].insert_all(_intervention_rows(interventions, rows, suppress=audience == PUBLIC))
    db["stories"].insert_all(_story_row(row) for row in rows)
    db["story_outcomes"].insert_all(
        _outcome_row(row, outcome, by_id) for row in rows for outcome in row["outcomes"]
    )
    db["story_interventions"].insert_all(
        {"story_id": row["id"], "intervention_id": item["id"]} for row in rows for item in row["interventions"]
    )
    db["outcome_summary"].insert_all(_summary(rows, by_id, suppress=audience == PUBLIC))
    db["stories"].enable_fts(["title", "body"], tokenize="porter", create_triggers=False)
    db["stories"].populate_fts(["title", "body"])
    db["story_outcomes"].create_index(["domain", "direction"])
    db["story_outcomes"].create_index(["intervention_id"])
    # The first consent review date in the file: after it, the file must be rebuilt (see jobs).
    valid_until = min((row["review_on"] for row in rows), default=None)
    db["publication"].insert({"audience": audience, "built_at": now_iso(), "stories": len(rows), "valid_until": valid_until})


def _story_row(row: dict[str, Any]) -> dict[str, Any]:
    interventions = row["interventions"]
    return {
        **{key: row[key] for key in ("id", "title", "body", "told_on", "year", "organisation", "area", "storyteller",
                                     "identity_level", "told_as", "verification", "most_significant_change")},
        "interventions": json.dumps(sorted({i["name"] for i in interventions})),
        "providers": json.dumps(sorted({i["provider"] for i in interventions})),
        "commissioners": json.dumps(sorted({i["commissioner"] for i in interventions if i["commissioner"]})),
        "contracts": json.dumps(sorted({i["contract_ref"] for i in interventions if i["contract_ref"]})),
        "outcomes": json.dumps([f"{outcomes.domain_label(o['domain'])}: {o['direction']}" for o in row["outcomes"]]),
    }


def _outcome_row(row: dict[str, Any], outcome: dict[str, Any], interventions: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    # An outcome linked to no intervention is credited to the story's only intervention, if it has one.
    linked = outcome["intervention_id"] or (row["interventions"][0]["id"] if len(row["interventions"]) == 1 else None)
    intervention = interventions.get(linked) or {}
    return {
        "story_id": row["id"], "title": row["title"], "domain": outcome["domain"],
        "domain_label": outcomes.domain_label(outcome["domain"]), "direction": outcome["direction"],
        "evidence": outcome["evidence"], "contribution": outcome["contribution"],
        "contribution_statement": outcome["contribution_statement"], "intervention_id": linked,
        "intervention": intervention.get("name"), "provider": intervention.get("provider"),
        "commissioner": intervention.get("commissioner"), "contract_ref": intervention.get("contract_ref"),
        "organisation": row["organisation"], "area": row["area"], "year": row["year"],
        "verification": row["verification"], "framework": outcome["framework"],
    }


def _intervention_rows(interventions: list[Mapping[str, Any]], rows: list[dict[str, Any]], *, suppress: bool) -> list[dict[str, Any]]:
    counts = Counter(item["id"] for row in rows for item in row["interventions"])
    keys = ("id", "name", "provider", "commissioner", "contract_ref", "contract_ref_kind", "social_value_theme",
            "starts_on", "ends_on", "description")
    return [
        {**{key: item[key] for key in keys}, "stories": None if suppress and counts[item["id"]] < SMALL_COUNT else counts[item["id"]]}
        for item in interventions
    ]


def _summary(rows: list[dict[str, Any]], interventions: Mapping[int, Mapping[str, Any]], *, suppress: bool) -> list[dict[str, Any]]:
    """Stories per outcome domain, direction and intervention; in the public file small counts are hidden."""
    stories: Counter[tuple[str, str, str]] = Counter()
    verified: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        for outcome in row["outcomes"]:
            if outcome["framework"] != outcomes.DEFAULT_FRAMEWORK:
                continue
            linked = _outcome_row(row, outcome, interventions)
            key = (linked["domain_label"], outcome["direction"], linked["intervention"] or "(no intervention linked)")
            stories[key] += 1
            verified[key] += row["verification"] != UNVERIFIED
    summary = []
    for key, count in sorted(stories.items()):
        hidden = suppress and count < SMALL_COUNT
        summary.append({
            "domain_label": key[0], "direction": key[1], "intervention": key[2],
            "verified_stories": None if hidden else verified[key], "stories": None if hidden else count,
            "shown": f"fewer than {SMALL_COUNT}" if hidden else str(count),
        })
    return summary
