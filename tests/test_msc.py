"""Most Significant Change rounds: shortlist, choose, say why — published and passed back to the worker."""

from __future__ import annotations

import pytest

from conftest import add_tag, sign_off, story_form
from pipelines.publish import run_publish
from stories.records import record_story
from stories.services.consent import withdraw_story
from stories.sqlite import sqlite3


@pytest.fixture
def stories(db, orgs, users, signed_form):
    """Three signed-off stories with a confirmed relationships outcome; one for the team only."""
    made = {}
    for title, audiences in [
        ("Tuesday calls", ["team", "commissioners", "public"]),
        ("The walking group", ["team", "public"]),
        ("Team only", ["team"]),
    ]:
        story_id = record_story(
            db,
            story_form(title=title, audiences=audiences, identity_level="named", evidence_file=signed_form()),
            organisation_id=orgs["a"],
            actor="t",
            user_id=users["worker"],
        )
        sign_off(db, story_id, users["reviewer"])
        add_tag(db, story_id)
        made[title] = story_id
    return made


def start_round(client):
    response = client.post("/msc/", data={"title": "Spring panel", "domain": "relationships", "panel": "Ruth, Tom"})
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_panel_shortlists_chooses_and_the_choice_is_published_and_passed_on(client, auth, instance, stories):
    auth.login("reviewer")
    round_id = start_round(client)
    page = client.get(f"/msc/{round_id}").get_data(as_text=True)
    assert "Tuesday calls" in page and "The walking group" in page
    for title in ("Tuesday calls", "The walking group"):
        client.post(f"/msc/{round_id}", data={"action": "shortlist", "story_id": stories[title]})
    response = client.post(
        f"/msc/{round_id}",
        data={
            "action": "choose",
            "story_id": stories["Tuesday calls"],
            "reason": "It shows how Janet's one call a week ended years of silence.",
        },
    )
    assert response.status_code == 302
    # The reason is published with the story: new words, so the story goes back to the reviewer,
    # who decides on the name in it like any other (issue 12).
    run_publish(instance)
    with sqlite3.connect(instance.published_path("public")) as conn:
        assert "Tuesday calls" not in dict(conn.execute("SELECT title, id FROM stories").fetchall())
    page = client.get(f"/stories/{stories['Tuesday calls']}").get_data(as_text=True)
    assert "Waiting for review" in page and 'name="name-Janet"' in page and "Most Significant Change reason" in page
    story_page = f"/stories/{stories['Tuesday calls']}"
    client.post(f"{story_page}/names", data={"name-Janet": "redact", "name-Janet-placeholder": "a volunteer"})
    client.post(f"{story_page}/approve")
    run_publish(instance)
    with sqlite3.connect(instance.published_path("public")) as conn:
        notes = dict(conn.execute("SELECT title, most_significant_change FROM stories").fetchall())
    assert "[a volunteer]'s one call a week ended years of silence" in notes["Tuesday calls"]
    assert "Ruth" not in notes["Tuesday calls"] and "Janet" not in notes["Tuesday calls"]
    assert notes["The walking group"] is None
    auth.logout()
    auth.login("worker")
    page = client.get("/stories/").get_data(as_text=True)
    assert "A panel chose" in page and "ended years of silence" in page
    client.post(f"/msc/{round_id}/seen")
    assert "A panel chose" not in client.get("/stories/").get_data(as_text=True)


def test_a_choice_needs_a_reason_and_a_shortlisted_story(client, auth, stories):
    auth.login("reviewer")
    round_id = start_round(client)
    response = client.post(f"/msc/{round_id}", data={"action": "choose", "story_id": stories["Tuesday calls"], "reason": ""})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Why the panel chose it is required" in text and "Choose one of the shortlisted stories" in text


def test_a_withdrawn_story_cannot_be_shortlisted(client, auth, instance, stories):
    withdraw_story(instance, stories["Tuesday calls"], actor="t", reason="asked")
    auth.login("reviewer")
    round_id = start_round(client)
    assert "Tuesday calls" not in client.get(f"/msc/{round_id}").get_data(as_text=True)
    response = client.post(f"/msc/{round_id}", data={"action": "shortlist", "story_id": stories["Tuesday calls"]})
    assert response.status_code == 422


def test_only_reviewers_run_rounds(client, auth):
    auth.login("worker")
    assert client.get("/msc/").status_code == 403
