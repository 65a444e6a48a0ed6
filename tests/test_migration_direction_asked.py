"""m018_direction16: a machine suggestion may leave the direction to the person; a confirmed tag never does."""

from __future__ import annotations

from unittest import mock

import pytest

from stories import migrations
from stories.db import connect
from stories.sqlite import sqlite3

NAME = "m018_direction16_direction_asked"


def test_the_tags_table_is_rebuilt_keeping_every_row_index_and_trigger(tmp_path):
    db = connect(tmp_path / "before.db")
    with mock.patch.object(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if m[0] != NAME]):
        migrations.migrate(db)
    db.execute("INSERT INTO organisations (id, slug, name, created_at) VALUES (1, 'o', 'O', 'now')")
    db.execute(
        "INSERT INTO users (id, username, display_name, password_hash, role, organisation_id, created_at)"
        " VALUES (1, 'r', 'R', 'x', 'reviewer', 1, 'now')"
    )
    db.execute(
        "INSERT INTO storytellers (id, organisation_id, reference, pseudonym_seed, created_at) VALUES (1, 1, 'R', 's', 'now')"
    )
    db.execute(
        "INSERT INTO stories (id, organisation_id, storyteller_id, title, body, told_on, status, approved_by, created_at,"
        " updated_at) VALUES (1, 1, 1, 'T', 'We have our own flat now.', '2026-01-01', 'approved', 1, 'now', 'now')"
    )
    db.execute(
        'INSERT INTO outcome_tags (id, story_id, framework, framework_version, domain, direction, start, "end", evidence,'
        " origin, status, contribution_statement, created_at) VALUES (7, 1, 'ons-wellbeing', 'v', 'where_we_live',"
        " 'improved', 0, 25, 'We have our own flat now.', 'machine', 'confirmed', 'the keys', 'now')"
    )
    before_rows = db.execute("SELECT * FROM outcome_tags").fetchall()
    schema = "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY name"
    before_schema = db.execute(schema).fetchall()

    assert migrations.migrate(db) == [NAME]

    kept = ", ".join(f'"{column}"' for column in _columns(db) if column != "direction_confidence")
    assert db.execute(f"SELECT {kept} FROM outcome_tags").fetchall() == before_rows
    assert db.execute(schema).fetchall() == before_schema  # outcome_tags_story and the m007 triggers are back
    db.execute(
        "INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, origin, status, created_at)"
        " VALUES (1, 'ons-wellbeing', 'v', 'health', NULL, 'machine', 'suggested', 'now')"
    )
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        db.execute("UPDATE outcome_tags SET status = 'confirmed' WHERE domain = 'health'")
    # The back-to-review trigger still works: a confirmed tag's evidence changed needs a new sign-off.
    db.execute("UPDATE outcome_tags SET evidence = 'our own flat' WHERE id = 7")
    assert db.execute("SELECT status FROM stories WHERE id = 1").fetchone()[0] == "submitted"


def _columns(db) -> list[str]:
    return [row[1] for row in db.execute("PRAGMA table_info(outcome_tags)").fetchall()]
