"""A change to one story reaches the published files by change, not by a full rebuild, and the file it
makes is the file a full rebuild would make: the same rows, the same counts, the same search answers,
and no trace of words the story no longer publishes.
"""

from __future__ import annotations

import re
import shutil
import tempfile

import pytest

from conftest import add_tag, sign_off, story_form
from pipelines.publish import publish_changes, run_publish
from stories.consent import PUBLISHED_AUDIENCES
from stories.identity import names_for_review
from stories.notrace import find_traces
from stories.records import decide_name, get_story, record_story
from stories.sqlite import sqlite3

# The search index's own tables are compared through what it finds; `publication` holds when it was built.
NOT_COMPARED = re.compile(r"stories_fts(_data|_idx|_docsize|_config|_content)?|publication|sqlite_.*")
SEARCHES = ("lunch", "tuesday", "husband", "priya", "ring*", "lunch OR garden")


def contents(path) -> dict[str, object]:
    """What a reader of the file can see, in an order that does not depend on how it was built."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as conn:
        seen: dict[str, object] = {}
        # Every table, read from the file: a table added to the published files and not kept by a change fails here.
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]
        for table in (t for t in tables if not NOT_COMPARED.fullmatch(t)):
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})") if c[1] != "id" or table != "story_outcomes"]
            seen[table] = sorted(map(repr, conn.execute(f"SELECT {', '.join(columns)} FROM {table}")))
        seen["publication"] = conn.execute("SELECT audience, stories, valid_until FROM publication").fetchall()
        for words in SEARCHES:
            found = conn.execute("SELECT rowid FROM stories_fts WHERE stories_fts MATCH ? ORDER BY rowid", [words])
            seen[f"search {words}"] = [row[0] for row in found]
    with tempfile.TemporaryDirectory() as folder:  # FTS5's check is written as an INSERT: run it on a copy
        copy = shutil.copy(path, folder)
        with sqlite3.connect(copy) as conn:
            conn.execute("INSERT INTO stories_fts (stories_fts) VALUES ('integrity-check')")  # raises if the index disagrees
    return seen


def as_rebuilt(instance) -> dict[str, dict[str, object]]:
    """The files as they are, then as a full rebuild makes them: each pair must be the same."""
    changed = {audience: contents(instance.published_path(audience)) for audience in PUBLISHED_AUDIENCES}
    run_publish(instance)
    rebuilt = {audience: contents(instance.published_path(audience)) for audience in PUBLISHED_AUDIENCES}
    return {"by change": changed, "rebuilt": rebuilt}


@pytest.fixture
def published(instance, db, orgs, users, signed_form) -> list[int]:
    """Three signed-off stories at different identity levels, published; a fourth recorded but not signed off."""
    ids = []
    for level, body in (
        ("named", "My name is Margaret Holt. Priya rings every Tuesday and I go to the lunch club now."),
        ("first_name", "My name is Grace Okafor. The garden group meets on a Tuesday and I have made friends."),
        ("anonymous", "My name is Tomasz Nowak. My husband died and I stopped going out; now I ring my sister."),
        ("anonymous", "My name is Aisha Khan. The debt adviser came round and now I sleep through the night."),
    ):
        name = body.split("My name is ")[1].split(".")[0]
        form = story_form(identity_level=level, storyteller_names=name, body=body, evidence_file=signed_form())
        ids.append(record_story(db, form, organisation_id=orgs["a"], actor="t"))
    for story_id in ids[:3]:
        add_tag(db, story_id, evidence=None)
        sign_off(db, story_id, users["reviewer"])
    for item in names_for_review(get_story(db, ids[3])):  # the fourth waits only for its sign-off
        decide_name(db, ids[3], item["name"], "keep", actor="t")
    run_publish(instance)
    return ids


def held(instance, audience: str = "public") -> set[int]:
    with sqlite3.connect(f"file:{instance.published_path(audience)}?immutable=1", uri=True) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM stories")}


def test_a_story_signed_off_is_added_by_change_exactly_as_a_rebuild_would_add_it(instance, db, users, published):
    new = published[3]
    sign_off(db, new, users["reviewer"])
    counts = publish_changes(instance, [new])
    assert new in held(instance) and counts["public"] == 4
    files = as_rebuilt(instance)
    assert files["by change"] == files["rebuilt"]


def test_a_tag_confirmed_after_publication_reaches_the_counts_and_the_story(instance, db, published):
    story = published[0]
    add_tag(db, story, "health", "improved", evidence="I go to the lunch club now")
    publish_changes(instance, [story])
    with sqlite3.connect(f"file:{instance.published_path('public')}?immutable=1", uri=True) as conn:
        assert ("health",) in conn.execute("SELECT domain FROM story_outcomes WHERE story_id = ?", [story]).fetchall()
    files = as_rebuilt(instance)
    assert files["by change"] == files["rebuilt"]


def test_words_a_change_takes_out_leave_no_trace_in_the_file_its_index_or_its_free_pages(instance, db, published):
    story = published[0]  # named: "Priya" is published as said
    assert find_traces(instance.published_dir, ["Priya"])
    decide_name(db, story, "Priya", "redact", actor="t", placeholder="[my friend]")
    sign_off(db, story, None)
    publish_changes(instance, [story])
    assert held(instance) == set(published[:3])
    assert find_traces(instance.published_dir, ["Priya"]) == []  # not in rows, index blocks or free pages
    files = as_rebuilt(instance)
    assert files["by change"] == files["rebuilt"]


def test_a_story_no_longer_allowed_leaves_by_change_and_other_stories_stay(instance, db, published):
    story = published[1]
    db.execute("UPDATE stories SET status = 'submitted' WHERE id = ?", [story])  # sent back for review
    publish_changes(instance, [story])
    assert held(instance) == {published[0], published[2]}
    assert find_traces(instance.published_dir, ["garden group"]) == []
    files = as_rebuilt(instance)
    assert files["by change"] == files["rebuilt"]


def test_a_sign_off_in_the_app_publishes_by_change_not_by_rebuilding(client, auth, instance, db, published):
    auth.login("reviewer")
    response = client.post(f"/stories/{published[3]}/approve")
    assert response.status_code == 302
    assert published[3] in held(instance)
    actions = [row[0] for row in db.execute("SELECT action FROM audit_log WHERE action LIKE 'publish%' ORDER BY id")]
    assert actions[-1] == "publish.change"


def test_a_full_rebuild_redacts_on_every_core_and_publishes_the_same_words(instance, db, users, published, monkeypatch):
    from pipelines import publish
    from stories.published_versions import forget_all

    sign_off(db, published[3], users["reviewer"])
    run_publish(instance)
    one_process = {audience: contents(instance.published_path(audience)) for audience in PUBLISHED_AUDIENCES}
    forget_all(db)  # every story redacted again, as after a change to the identity rules
    monkeypatch.setattr(publish, "PER_PROCESS_AT_LEAST", 1)
    monkeypatch.setattr(publish, "_cores", lambda: 2)
    spawned = []
    real_pool = publish.ProcessPoolExecutor
    monkeypatch.setattr(publish, "ProcessPoolExecutor", lambda *a, **k: spawned.append(a) or real_pool(*a, **k))
    run_publish(instance)
    assert spawned == [(2,)]
    assert {audience: contents(instance.published_path(audience)) for audience in PUBLISHED_AUDIENCES} == one_process
