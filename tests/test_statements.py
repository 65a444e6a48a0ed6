"""Outcomes people state when a story is recorded: kept with who said so, then evidenced by the words the tagger proposes."""

from __future__ import annotations

import html
import json

from conftest import story_form, with_signed_form
from stories.importer import import_stories
from stories.validation import Invalid

BODY = (
    "After my husband died I did not speak to anyone for weeks and I was very lonely. "
    "Now Priya rings every Tuesday and I have made friends at the lunch club. "
    "My arthritis got worse this winter and my health is poor, I can hardly walk to the shop."
)


def record(client, **fields):
    form = with_signed_form(story_form(**{"body": BODY, **fields}))
    return client.post("/stories/new", data=form, content_type="multipart/form-data")


def story_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def tags(db, story_id):
    return {
        row["domain"]: row
        for row in db.query("SELECT * FROM outcome_tags WHERE story_id = ? AND framework = 'ons-wellbeing'", [story_id])
    }


def test_two_stated_outcomes_are_kept_with_who_said_so_and_await_their_words(client, auth, db):
    auth.login("worker")
    story_id = story_id_of(
        record(client, outcome_relationships="improved", outcome_health="improved", outcomes_said_by="storyteller")
    )
    stated = db.execute(
        "SELECT domain, direction, said_by FROM outcome_statements WHERE story_id = ? ORDER BY domain", [story_id]
    ).fetchall()
    assert stated == [("health", "improved", "storyteller"), ("relationships", "improved", "storyteller")]
    found = tags(db, story_id)
    for domain in ("health", "relationships"):
        assert found[domain]["status"] == "confirmed" and found[domain]["origin"] == "person"
        assert found[domain]["evidence"] is None  # awaiting the words: not published until a person picks them
    # Domains nobody stated are suggested as before.
    assert all(tag["status"] == "suggested" for domain, tag in found.items() if domain not in ("health", "relationships"))
    page = html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True))
    assert "What was said to have changed" in page
    assert "Our relationships: improved</strong> — the storyteller said." in page
    assert "Now Priya rings every Tuesday and I have made friends at the lunch club." in page
    assert "Use these words for our relationships" in page


def test_picking_the_proposed_words_makes_them_the_evidence(client, auth, db):
    auth.login("worker")
    story_id = story_id_of(record(client, outcome_relationships="improved", outcomes_said_by="worker"))
    tag_id = tags(db, story_id)["relationships"]["id"]
    proposal = db.execute(
        "SELECT id, evidence FROM evidence_proposals WHERE story_id = ? AND domain = 'relationships'", [story_id]
    ).fetchone()
    assert proposal is not None and proposal[1] in BODY
    response = client.post(f"/stories/{story_id}/stated/{tag_id}/evidence", data={"proposal": proposal[0]})
    assert response.status_code == 302
    tag = tags(db, story_id)["relationships"]
    assert tag["evidence"] == proposal[1] == BODY[tag["start"] : tag["end"]]
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Our relationships: the proposed words are now its evidence." in page
    assert "confirmed: the worker judged" in page


def test_a_stated_direction_the_story_contradicts_is_said_plainly_and_left_alone(client, auth, db):
    auth.login("worker")
    story_id = story_id_of(record(client, outcome_health="improved", outcomes_said_by="storyteller"))
    page = " ".join(html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True)).split())
    assert (
        "The story may say otherwise.</strong> Stated as improved, but the tagger reads health in this story as worsened" in page
    )
    assert "I can hardly walk to the shop.” Check with the storyteller which is right; nothing has been changed." in page
    assert tags(db, story_id)["health"]["direction"] == "improved"  # a notice, never a silent change


def test_an_agreeing_statement_has_no_contradiction_notice(client, auth, db):
    auth.login("worker")
    story_id = story_id_of(record(client, outcome_health="worsened", outcomes_said_by="storyteller"))
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "may say otherwise" not in page


def test_a_form_sent_back_keeps_every_stated_choice_and_says_who_must_be_named(client, auth, db, orgs):
    auth.login("worker")
    response = record(client, title="", outcome_health="mixed", outcome_relationships="improved")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Say who said what changed: the storyteller themselves, or you judged it." in page
    assert '<details id="stated-outcomes" open>' in page
    assert 'name="outcome_health" value="mixed" checked' in page
    assert 'name="outcome_relationships" value="improved" checked' in page
    assert db.execute("SELECT count(*) FROM outcome_statements").fetchone()[0] == 0


def test_the_form_starts_closed_with_nothing_stated(client, auth):
    auth.login("worker")
    page = client.get("/stories/new").get_data(as_text=True)
    assert '<details id="stated-outcomes">' in page
    assert page.count('value="" checked') == 7  # every domain "not said"


def write(tmp_path, name, rows):
    path = tmp_path / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        import csv

        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def import_row(**fields):
    row = story_form(body=BODY, audiences="team")
    row.update(fields)
    return row


def test_an_import_states_outcomes_as_columns(db, orgs, instance, tmp_path):
    path = write(
        tmp_path,
        "stories.csv",
        [import_row(outcome_health="Worsened", outcome_relationships="improved", outcomes_said_by="storyteller")],
    )
    assert import_stories(db, path, organisation_id=orgs["a"], actor="importer", evidence_dir=instance.evidence_dir) == 1
    assert db.execute("SELECT domain, direction, said_by FROM outcome_statements ORDER BY domain").fetchall() == [
        ("health", "worsened", "storyteller"),
        ("relationships", "improved", "storyteller"),
    ]


def test_an_import_with_bad_outcome_columns_names_each_row_and_imports_nothing(db, orgs, instance, tmp_path):
    path = write(
        tmp_path,
        "stories.jsonl",
        [
            import_row(outcome_health="improved", outcomes_said_by="storyteller"),
            import_row(outcome_health="better", outcomes_said_by="storyteller"),
            import_row(outcome_wellbeing="improved", outcomes_said_by="worker"),
            import_row(outcome_health="mixed"),
            import_row(outcome_health="mixed", outcomes_said_by="manager"),
        ],
    )
    try:
        import_stories(db, path, organisation_id=orgs["a"], actor="importer", evidence_dir=instance.evidence_dir)
    except Invalid as error:
        problems = error.problems
    else:
        raise AssertionError("imported")
    assert problems["row 2, outcome_health"].startswith("Health: “better” is not a change we record: write improved,")
    assert problems["row 3, outcome_wellbeing"].startswith("There is no outcome domain “wellbeing”: the outcome columns are")
    assert problems["row 4, outcomes_said_by"] == "Say who said what changed: the storyteller themselves, or you judged it."
    assert problems["row 5, outcomes_said_by"] == "“manager” is not who can state an outcome: write storyteller or worker."
    assert not any(key.startswith("row 1") for key in problems)
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 0


def test_each_published_outcome_says_who_stands_behind_it(client, auth, db, instance):
    from conftest import datasette_get
    from pipelines.publish import run_publish
    from stories.datasette_plugin import make_datasette

    auth.login("reviewer")
    story_id = story_id_of(
        record(client, identity_level="named", outcome_relationships="improved", outcomes_said_by="storyteller")
    )
    found = tags(db, story_id)
    proposal = db.execute(
        "SELECT id FROM evidence_proposals WHERE story_id = ? AND domain = 'relationships'", [story_id]
    ).fetchone()
    client.post(f"/stories/{story_id}/stated/{found['relationships']['id']}/evidence", data={"proposal": proposal[0]})
    suggested = next(tag for tag in found.values() if tag["status"] == "suggested")
    client.post(  # the tagger offers no direction it has not earned: the person says what changed
        f"/stories/{story_id}/tags",
        data={f"tag-{suggested['id']}": "confirmed", f"tag-{suggested['id']}-direction": "improved"},
    )
    client.post(f"/stories/{story_id}/names", data={"name-Priya": "keep"})
    assert client.post(f"/stories/{story_id}/approve").status_code == 302
    run_publish(instance)
    for audience in ("public", "commissioners"):
        rows = db_rows(instance, audience, story_id)
        assert rows["relationships"] == "the storyteller said"
        assert rows[suggested["domain"]] == "a reviewer confirmed"
    ds = make_datasette(instance)
    page = datasette_get(ds, f"/public/stories/{story_id}").text
    assert "Our relationships: improved</h3>" in page
    assert "Who says so: the storyteller said." in page
    answer = datasette_get(ds, "/public/stories_by_outcome?domain=relationships&direction=&intervention=&area=&year=").text
    assert "Who says so</th>" in " ".join(answer.split()).replace("> ", ">").replace(" <", "<")
    assert "the storyteller said" in answer


def db_rows(instance, audience, story_id):
    from stories.sqlite import sqlite3

    path = instance.published_path(audience)
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as conn:
        return dict(conn.execute("SELECT domain, provenance FROM story_outcomes WHERE story_id = ?", [story_id]).fetchall())


def test_words_selected_with_another_direction_are_the_workers_judgement_not_the_storytellers(client, auth, db):
    auth.login("worker")
    story_id = story_id_of(record(client, outcome_relationships="worsened", outcomes_said_by="storyteller"))
    quote = "I have made friends at the lunch club"
    start = BODY.index(quote)
    client.post(
        f"/stories/{story_id}/tags/add",
        data={"domain": "relationships", "direction": "improved", "start": start, "end": start + len(quote), "quote": quote},
    )
    page = " ".join(html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True)).split())
    assert "Our relationships: worsened</strong> — the storyteller said." in page  # the statement stands as it was said
    assert "A person has since confirmed it as improved: that is published as the worker's judgement." in page
    assert "confirmed: the worker judged" in page


def test_selecting_other_words_for_a_stated_outcome_keeps_its_domain_and_direction(client, auth, db):
    auth.login("worker")
    story_id = story_id_of(record(client, outcome_health="worsened", outcomes_said_by="storyteller"))
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert f'href="/stories/{story_id}?adjust=health#add-tag">Select them yourself</a>' in page
    form = client.get(f"/stories/{story_id}?adjust=health").get_data(as_text=True).split('id="add-tag"')[1]
    assert '<option value="health" selected>' in form
    assert '<option value="worsened" selected>' in form
    other = client.get(f"/stories/{story_id}?adjust=no_such_domain").get_data(as_text=True).split('id="add-tag"')[1]
    assert "selected>" not in other.split('name="direction"')[0]
