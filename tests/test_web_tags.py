"""Outcome tags on the story page: suggestions with evidence, confirmed by a person, then published."""

from __future__ import annotations

from conftest import story_form, with_signed_form
from pipelines.publish import run_publish
from stories.sqlite import sqlite3

BODY = (
    "I was sleeping on my sister's sofa for a year. The council helped us and we finally have our own flat. "
    "I had debts everywhere and I was scared to open the post. Now the arrears are paid off with a plan I can manage. "
    "I started a cooking course at the college and I passed the food hygiene certificate."
)


def record(client, **fields):
    form = with_signed_form(story_form(body=BODY, identity_level="named", **fields))
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    return int(response.headers["Location"].rsplit("/", 1)[1])


def tags(db, story_id):
    return {
        row["domain"]: row
        for row in db.query("SELECT * FROM outcome_tags WHERE story_id = ? AND framework = 'ons-wellbeing'", [story_id])
    }


def test_a_typed_story_arrives_with_suggestions_and_highlighted_evidence(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    suggested = tags(db, story_id)
    assert {"where_we_live", "personal_finance", "education_skills"} <= set(suggested)
    assert all(tag["status"] == "suggested" and tag["origin"] == "machine" for tag in suggested.values())
    housing = suggested["where_we_live"]
    assert BODY[housing["start"] : housing["end"]] == housing["evidence"]
    assert housing["direction"] == "improved"
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert '<mark class="evidence"' in page
    assert "framework_version" in housing["provenance"] or housing["framework_version"]


def test_only_confirmed_tags_are_published_with_the_direction_a_person_chose(client, auth, db, instance, users):
    auth.login("reviewer")
    story_id = record(client)
    suggested = tags(db, story_id)
    housing, money = suggested["where_we_live"]["id"], suggested["personal_finance"]["id"]
    client.post(
        f"/stories/{story_id}/tags",
        data={
            f"tag-{housing}": "confirmed",
            f"tag-{housing}-direction": "improved",
            f"tag-{money}": "confirmed",
            f"tag-{money}-direction": "mixed",
        },
    )
    client.post(f"/stories/{story_id}/approve")
    run_publish(instance)
    with sqlite3.connect(instance.published_path("public")) as conn:
        published = dict(conn.execute("SELECT domain, direction FROM story_outcomes").fetchall())
    assert published == {"where_we_live": "improved", "personal_finance": "mixed"}


def test_a_rejected_suggestion_stays_rejected_when_the_tagger_runs_again(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    skills = tags(db, story_id)["education_skills"]["id"]
    client.post(f"/stories/{story_id}/tags", data={f"tag-{skills}": "rejected"})
    client.post(f"/stories/{story_id}/tags/suggest")
    again = tags(db, story_id)["education_skills"]
    assert again["id"] == skills and again["status"] == "rejected"


def test_a_worker_tags_the_words_they_select(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    start = BODY.index("I started a cooking course")
    end = BODY.index("certificate.") + len("certificate.")
    client.post(
        f"/stories/{story_id}/tags/add", data={"domain": "what_we_do", "direction": "improved", "start": start, "end": end}
    )
    added = tags(db, story_id)["what_we_do"]
    assert added["origin"] == "person" and added["status"] == "confirmed"
    assert added["evidence"] == BODY[start:end]


def test_a_tag_without_selected_words_is_refused_with_a_message(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    response = client.post(
        f"/stories/{story_id}/tags/add",
        data={"domain": "health", "direction": "improved", "start": "", "end": ""},
        follow_redirects=True,
    )
    assert "Select the words in the story" in response.get_data(as_text=True)
