"""Publishing: each audience's file holds exactly what consent allows, rebuilt from scratch."""

from __future__ import annotations

import pytest

from conftest import add_tag, story_form
from pipelines.publish import run_publish
from stories.consent import PUBLISHED_AUDIENCES, WITHDRAWN
from stories.outcome_tags import save_confirmed_tag
from stories.records import add_consent_event, approve_story, decide_name, record_story
from stories.search import match_expression
from stories.sqlite import sqlite3


def published(instance, audience, sql="SELECT id, title, body, storyteller FROM stories ORDER BY id"):
    with sqlite3.connect(instance.published_path(audience)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql)]


@pytest.fixture
def signed_off(db, orgs, users, signed_form):
    """Record a story with its signed consent form and sign it off; returns its id."""

    def make(**fields):
        form = story_form(evidence_file=signed_form("test"), **fields)
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="test")
        decide_name(db, story_id, "Priya", "keep", actor="test")
        approve_story(db, story_id, actor="test", user_id=users["reviewer"])
        return story_id

    return make


def test_each_file_holds_exactly_the_stories_consented_for_it(instance, db, orgs, signed_off):
    everyone = signed_off(title="For everyone")
    commissioners_only = signed_off(title="Commissioners only", audiences=["team", "commissioners"])
    signed_off(title="Team only", audiences=["team"])
    signed_off(title="No special-category consent", special_category="no")
    withdrawn = signed_off(title="Withdrawn")
    add_consent_event(db, withdrawn, WITHDRAWN, "test", reason="changed my mind")
    record_story(db, story_form(title="Not yet reviewed"), organisation_id=orgs["a"], actor="test")

    counts = run_publish(instance)

    assert counts == {"commissioners": 2, "public": 1}
    assert [row["id"] for row in published(instance, "public")] == [everyone]
    assert [row["id"] for row in published(instance, "commissioners")] == [everyone, commissioners_only]


def test_an_anonymous_story_loses_the_storytellers_names(instance, signed_off):
    signed_off(identity_level="anonymous", title="How Maggie found her voice")
    run_publish(instance)
    row = published(instance, "public")[0]
    text = row["title"] + " " + row["body"]
    for name in ("Margaret", "Holt", "Maggie"):
        assert name not in text
    assert "[the storyteller]" in row["body"]
    assert "Priya rings every Tuesday" in row["body"]  # a reviewer chose to keep the befriender's name
    assert row["storyteller"] is None


def test_a_pseudonymous_story_uses_the_same_pseudonym_every_time(instance, signed_off):
    signed_off(identity_level="pseudonym")
    run_publish(instance)
    first = published(instance, "public")[0]
    run_publish(instance)
    second = published(instance, "public")[0]
    assert first["storyteller"] and first["storyteller"] == second["storyteller"]
    assert "Margaret" not in first["body"] and first["storyteller"] in first["body"]


def test_a_named_story_keeps_the_name_and_credits_it(instance, signed_off):
    signed_off(identity_level="named")
    run_publish(instance)
    row = published(instance, "public")[0]
    assert "Margaret Holt" in row["body"] and row["storyteller"] == "Margaret Holt"


def test_an_undecided_other_name_holds_back_an_anonymous_story(instance, db, orgs, users, signed_form):
    story_id = record_story(db, story_form(evidence_file=signed_form("test")), organisation_id=orgs["a"], actor="test")
    approve_story(db, story_id, actor="test", user_id=users["reviewer"])
    assert run_publish(instance) == {"commissioners": 0, "public": 0}
    decide_name(db, story_id, "Priya", "redact", placeholder="befriender", actor="test")
    run_publish(instance)
    assert "[befriender] rings every Tuesday" in published(instance, "public")[0]["body"]


def test_full_text_search_finds_published_words_and_plural_forms(instance, signed_off):
    signed_off()
    run_publish(instance)
    assert len(searched(instance, "lunch club")) == 1
    assert searched(instance, "clubs")


def searched(instance, typed: str) -> list[int]:
    """Stories the public file's index finds for what a person typed, read as Datasette's search reads it."""
    with sqlite3.connect(instance.published_path("public")) as conn:
        sql = "SELECT rowid FROM stories_fts WHERE stories_fts MATCH ?"
        return [row[0] for row in conn.execute(sql, [match_expression(typed)])]


def test_withdrawal_leaves_no_trace_in_the_rebuilt_file(instance, db, signed_off):
    story_id = signed_off(body="A distinctive zanzibarian marmalade story about the lunch club and Priya.")
    run_publish(instance)
    assert b"zanzibarian" in instance.published_path("public").read_bytes()
    add_consent_event(db, story_id, WITHDRAWN, "test", reason="withdrawn")
    run_publish(instance)
    assert b"zanzibarian" not in instance.published_path("public").read_bytes()


def test_a_publish_replaces_the_file_rather_than_editing_it(instance, signed_off):
    signed_off()
    run_publish(instance)
    before = instance.published_path("public").stat().st_ino
    run_publish(instance)
    assert instance.published_path("public").stat().st_ino != before
    assert not list(instance.published_dir.glob(".*.building"))


def test_stale_half_built_files_are_removed(instance):
    stale = instance.published_dir / ".public.999.building"
    stale.write_bytes(b"half a story about someone who withdrew")
    run_publish(instance)
    assert not stale.exists()


def test_outcomes_and_interventions_are_published_with_the_story(instance, db, orgs, users, signed_off):
    from stories.interventions import add_intervention

    intervention_id = add_intervention(
        db, {"name": "Telephone befriending", "contract_ref": "LCC-7"}, provider_id=orgs["a"], actor="t"
    )
    story_id = signed_off(interventions=[str(intervention_id)])
    add_tag(db, story_id, evidence="My name is Margaret Holt.")
    add_tag(db, story_id, "health", "worsened", origin="machine", status="suggested")
    run_publish(instance)
    outcomes = published(instance, "public", "SELECT domain, direction, evidence FROM story_outcomes")
    assert outcomes == [{"domain": "relationships", "direction": "improved", "evidence": "My name is [the storyteller]."}]
    assert published(instance, "commissioners", "SELECT name, stories FROM interventions") == [
        {"name": "Telephone befriending", "stories": 1}
    ]
    assert published(instance, "public", "SELECT name, stories FROM interventions") == [
        {"name": "Telephone befriending", "stories": 1}
    ]


def test_evidence_is_cut_from_the_published_body_so_names_stay_out(instance, db, signed_off):
    story_id = signed_off()
    body = db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()[0]
    start, end = 0, body.index(".") + 1  # "My name is Margaret Holt."
    add_tag(db, story_id, "personal_wellbeing", evidence=body[start:end], start=start, end=end, origin="machine")
    run_publish(instance)
    assert published(instance, "public", "SELECT evidence FROM story_outcomes") == [{"evidence": "My name is [the storyteller]."}]


def test_evidence_that_is_no_words_of_the_storyteller_is_not_published(instance, db, signed_off):
    """Attack 4: a selected "." was published as the evidence for "Where we live, improved", and a selected
    name as only its placeholder ("[my neighbour]"): neither shows a reader anything that changed."""
    story_id = signed_off()
    body = db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()[0]
    dot = body.index(".")
    name = body.index("Margaret Holt")
    add_tag(db, story_id, "where_we_live", evidence=".", start=dot, end=dot + 1)
    add_tag(db, story_id, "education_skills", evidence="M", start=0, end=1)  # attack 5: a lone letter was published
    add_tag(db, story_id, "health", evidence="Margaret Holt", start=name, end=name + len("Margaret Holt"))
    add_tag(db, story_id, "relationships", evidence="My name is Margaret Holt.", start=0, end=dot + 1)
    run_publish(instance)
    rows = published(instance, "public", "SELECT domain, evidence FROM story_outcomes")
    assert rows == [{"domain": "relationships", "evidence": "My name is [the storyteller]."}]
    assert published(instance, "public", "SELECT outcomes FROM stories") == [{"outcomes": '["Our relationships: improved"]'}]


def test_an_imported_frameworks_outcome_is_published_under_its_own_label(instance, db, signed_off, tmp_path):
    """Attack 4: an imported outcome "Plain "quoted" label" was published as "Plain dom" (made from its id),
    so the search note's link to it found nothing and the question's list named it wrongly."""
    from stories.framework_store import import_framework

    own = tmp_path / "our-outcomes.csv"
    own.write_text('id,label,description,example phrases\nplain_dom,"Plain ""quoted"" label",ordinary,walrus\n')
    import_framework(instance, own)
    story_id = signed_off()
    body = db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()[0]
    end = body.index(".") + 1
    add_tag(db, story_id, "plain_dom", framework="our-outcomes", evidence=body[:end], start=0, end=end)
    run_publish(instance)
    assert published(instance, "public", "SELECT domain_label FROM story_outcomes") == [{"domain_label": 'Plain "quoted" label'}]
    listed = published(instance, "public", "SELECT outcomes FROM stories")
    assert listed == [{"outcomes": '["Plain \\"quoted\\" label: improved"]'}]


def test_stored_published_versions_are_reused_and_go_with_an_erased_story(instance, db, users, signed_off):
    from stories.services.consent import withdraw_story

    story_id = signed_off()
    run_publish(instance)
    key = db.execute("SELECT key FROM published_versions WHERE story_id = ?", [story_id]).fetchone()[0]
    run_publish(instance)
    assert db.execute("SELECT key FROM published_versions WHERE story_id = ?", [story_id]).fetchone()[0] == key
    db.execute("UPDATE stories SET body = body || ' One more sentence.' WHERE id = ?", [story_id])
    assert run_publish(instance)["public"] == 0  # changed after sign-off: back to the reviewer
    approve_story(db, story_id, actor="test", user_id=users["reviewer"])
    run_publish(instance)
    assert "One more sentence." in published(instance, "public")[0]["body"]
    assert db.execute("SELECT key FROM published_versions WHERE story_id = ?", [story_id]).fetchone()[0] != key
    withdraw_story(instance, story_id, actor="t", reason="asked", erase_story=True)
    assert db.execute("SELECT count(*) FROM published_versions").fetchone()[0] == 0


def test_a_phone_number_holds_back_an_anonymous_story_until_a_reviewer_decides(instance, db, signed_off):
    story_id = signed_off(body="Priya gave me her number, 07700 900123, and rang every week. I feel like myself again.")
    assert run_publish(instance) == {"commissioners": 0, "public": 0}
    decide_name(db, story_id, "07700 900123", "redact", placeholder="[phone number]", actor="t")
    run_publish(instance)
    body = published(instance, "public")[0]["body"]
    assert "07700" not in body and "[phone number]" in body


def test_an_outcome_is_published_only_with_the_words_that_show_it(instance, db, signed_off):
    story_id = signed_off()
    body = db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()[0]
    words = body.split(".")[-2]
    save_confirmed_tag(db, story_id, "relationships", "improved", (body.index(words), body.index(words) + len(words)), body)
    save_confirmed_tag(db, story_id, "health", "improved", (None, None), body)  # stated, with no words showing it
    run_publish(instance)
    for audience in PUBLISHED_AUDIENCES:
        outcomes = published(instance, audience, "SELECT domain, evidence FROM story_outcomes")
        assert [o["domain"] for o in outcomes] == ["relationships"] and outcomes[0]["evidence"].strip(), audience
        counted = published(instance, audience, "SELECT domain_label FROM outcome_summary")
        assert counted == [{"domain_label": "Our relationships"}], audience
        listed = published(instance, audience, "SELECT outcomes FROM stories")
        assert listed == [{"outcomes": '["Our relationships: improved"]'}], audience


def test_a_rebuild_asked_for_before_the_last_one_read_the_store_is_not_run_again(instance, monkeypatch):
    import time

    from pipelines.jobs import queue_for, request_publish

    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")  # queued, as the worker finds them
    queue_for.cache_clear()
    queue = queue_for(instance.root)
    request_publish(instance)  # say, after each of three withdrawals
    request_publish(instance)
    request_publish(instance)
    asked = [queue.huey.dequeue().args[0] for _ in range(3)]
    queue_for.cache_clear()
    assert all(isinstance(at, float) and at <= time.time() for at in asked)

    first = run_publish(instance, asked_at=asked[0])  # the first one the worker takes: reads the store after all three
    assert set(first) == set(PUBLISHED_AUDIENCES)  # built
    assert run_publish(instance, asked_at=asked[1]) == {}  # the files are already what it would build
    assert run_publish(instance, asked_at=asked[2]) == {}
    assert run_publish(instance, asked_at=time.time()) != {}  # asked for after that rebuild read the store: it runs
