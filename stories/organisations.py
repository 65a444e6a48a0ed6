"""Organisations: the charities, council teams and NHS services whose stories these are."""

from __future__ import annotations

import re
from typing import Any

import sqlite_utils

from stories.clock import now_iso
from stories.db import write_transaction
from stories.validation import Invalid

KINDS = ("charity", "council", "nhs", "social_enterprise")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def ensure_organisation(
    db: sqlite_utils.Database, name: str, *, slug: str | None = None, kind: str = "charity", area: str = ""
) -> int:
    """The id of the organisation with this slug, creating it if new (idempotent)."""
    slug = slug or slugify(name)
    if not slug or not name.strip():
        raise Invalid({"organisation": "An organisation needs a name."})
    if kind not in KINDS:
        raise Invalid({"kind": f"Organisation kind must be one of {', '.join(KINDS)}."})
    with write_transaction(db):
        row = db.execute("SELECT id FROM organisations WHERE slug = ?", [slug]).fetchone()
        if row:
            return row[0]
        cursor = db.execute(
            "INSERT INTO organisations (slug, name, kind, area, created_at) VALUES (?, ?, ?, ?, ?)",
            [slug, name.strip(), kind, area, now_iso()],
        )
        return cursor.lastrowid


def get_organisation(db: sqlite_utils.Database, slug_or_id: str | int) -> dict[str, Any] | None:
    sql = (
        "SELECT * FROM organisations WHERE id = ?"
        if isinstance(slug_or_id, int)
        else "SELECT * FROM organisations WHERE slug = ?"
    )
    rows = list(db.query(sql, [slug_or_id]))
    return rows[0] if rows else None


def list_organisations(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM organisations ORDER BY name"))
