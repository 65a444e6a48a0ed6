"""A full rebuild reuses each story's search word families stored with its published version (issue 18),
and publishes byte for byte what stemming every story afresh publishes; stemming rules changed since
they were stored mean every family is worked out again (fail closed)."""

from __future__ import annotations

import datetime as dt
import functools

import pytest

from conftest import story_form
from pipelines import publish
from pipelines.published_file import write_tables
from stories import published_versions, search
from stories.commitments import list_commitments
from stories.instance import Instance
from stories.interventions import list_interventions
from stories.records import approve_story, decide_name, record_story, stories_for_publication
from stories.search import match_expression
from stories.sqlite import sqlite3

BODIES = [
    "Priya was lonely before the lunch club; the loneliness has gone and she's made friends.",
    "The café’s volunteers didn't judge. I felt welcomed, welcome, welcoming every week at the club.",
    "Debt advice helped me budget. Budgeting, budgets: I'm not anxious about the post any more.",
]
QUERIES = ["lonely", "loneliness", "cafe", "didn't", "budget", "welcoming club", '"lunch club"', "friend*", "Priya"]


@pytest.fixture
def stories(db, orgs, users, signed_form):
    made = []
    for number, body in enumerate(BODIES):
        audiences = ["team", "commissioners", "public"] if number != 1 else ["team", "commissioners"]
        form = story_form(evidence_file=signed_form("test"), title=f"Story {number} of the club", body=body, audiences=audiences)
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="test")
        decide_name(db, story_id, "Priya", "keep", actor="test")
        approve_story(db, story_id, actor="test", user_id=users["reviewer"])
        made.append(story_id)
    return made


def everything_in(path) -> dict[str, object]:
    """Every row of every table (the search index's own tables too) and what each query finds."""
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
        held: dict[str, object] = {}
        for table in tables:
            if table == "stories_fts":
                continue  # read through its shadow tables (stories_fts_data, _idx, _docsize, _config)
            columns = "audience, stories, valid_until" if table == "publication" else "*"  # not built_at: a clock
            held[table] = conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2").fetchall()
        for typed in QUERIES:
            sql = "SELECT rowid FROM stories_fts WHERE stories_fts MATCH ? ORDER BY rowid"
            held[f"search {typed}"] = conn.execute(sql, [match_expression(typed)]).fetchall()
    return held


def stemmed_afresh(instance: Instance, db, tmp_path) -> dict[str, dict[str, object]]:
    """Each file as published_file.py builds it when handed rows with no families: it stems every story itself."""
    scratch = Instance(tmp_path / "afresh")
    stories = stories_for_publication(db)
    versions = publish.published_versions(db, stories)
    files = {}
    for audience in ("public", "commissioners"):
        rows = list(publish.published_rows(stories, audience, dt.date.today(), versions))
        assert rows and all(publish.FAMILIES_KEY not in row for row in rows)
        vocabulary = search.vocabulary(publish.frameworks_in_use(instance))
        fill = functools.partial(
            write_tables,
            audience=audience,
            rows=rows,
            interventions=list_interventions(db),
            vocabulary=vocabulary,
            commitments=list_commitments(db),
        )
        publish.build_file(scratch, audience, fill)
        files[audience] = everything_in(scratch.published_path(audience))
    return files


def published(instance: Instance) -> dict[str, dict[str, object]]:
    return {audience: everything_in(instance.published_path(audience)) for audience in ("public", "commissioners")}


def stored_families(db) -> dict[int, tuple[str | None, str | None]]:
    rows = db.execute("SELECT story_id, families, families_mark FROM published_versions ORDER BY story_id")
    return {story_id: (found, mark) for story_id, found, mark in rows}


def test_a_rebuild_with_stored_families_publishes_what_stemming_afresh_publishes(instance, db, stories, tmp_path):
    publish.run_publish(instance)  # the first: every version and its families worked out and stored
    assert all(mark == search.families_mark() and found for found, mark in stored_families(db).values())

    stemmed = []
    real = search.families

    def counted(text: str) -> str:
        stemmed.append(text)
        return real(text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publish, "families", counted)
        publish.run_publish(instance)  # the second: every family read back from the store
    assert stemmed == []

    assert published(instance) == stemmed_afresh(instance, db, tmp_path)
    assert [row[0] for row in published(instance)["public"]["search loneliness"]] == [stories[0]]
    assert [row[0] for row in published(instance)["commissioners"]["search cafe"]] == [stories[1]]


def test_families_stored_by_other_stemming_rules_are_worked_out_again(instance, db, stories, tmp_path, monkeypatch):
    publish.run_publish(instance)
    expected = stemmed_afresh(instance, db, tmp_path)
    # Families that would find nothing, stored under today's mark: a rebuild trusts them (they are reused)...
    db.execute("UPDATE published_versions SET families = 'zzz'")
    publish.run_publish(instance)
    assert published(instance)["public"]["search loneliness"] == []
    # ...and under the mark of other rules it does not: every story is stemmed again, and stored under today's.
    monkeypatch.setattr(published_versions, "families_mark", lambda: "rules of tomorrow")
    publish.run_publish(instance)
    assert published(instance) == expected
    assert {mark for _, mark in stored_families(db).values()} == {"rules of tomorrow"}
    assert "zzz" not in {found for found, _ in stored_families(db).values()}


def test_a_version_stored_anew_loses_the_families_of_the_old_one(instance, db, stories):
    publish.run_publish(instance)
    story_id = stories[0]
    key = db.execute("SELECT key FROM published_versions WHERE story_id = ?", [story_id]).fetchone()[0]
    published_versions.save(db, {story_id: ("another key", {"title": "t", "body": "b"})})
    assert stored_families(db)[story_id] == (None, None)
    # A rebuild that stemmed the old version cannot store its families over the newer version.
    published_versions.save_families(db, {story_id: (key, "stale families")})
    assert stored_families(db)[story_id] == (None, None)
    published_versions.save_families(db, {story_id: ("another key", "lone")})
    assert stored_families(db)[story_id] == ("lone", search.families_mark())


@pytest.mark.parametrize(
    ("setting", "changed"),
    [("MAX_STEMMING", 1), ("WORD", search.re.compile(r"\w+"))],
)
def test_the_stemming_rules_mark_follows_the_rules(monkeypatch, setting, changed):
    today = search.families_mark.__wrapped__()
    assert search.families_mark.__wrapped__() == today  # the same rules, the same mark
    monkeypatch.setattr(search, setting, changed)
    assert search.families_mark.__wrapped__() != today
