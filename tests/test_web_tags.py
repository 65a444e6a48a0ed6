"""Outcome tags on the story page: suggestions with evidence, confirmed by a person, then published."""

from __future__ import annotations

import html
import re

import pytest

from conftest import story_form, with_signed_form
from pipelines.publish import run_publish
from stories import direction
from stories.outcomes import domain_label
from stories.sqlite import sqlite3

BODY = (
    "I was sleeping on my sister's sofa for a year. The council helped us and we finally have our own flat. "
    "I had debts everywhere and I was scared to open the post. Now the arrears are paid off with a plan I can manage. "
    "I started a cooking course at the college and I passed the food hygiene certificate."
)


def record(client, **fields):
    form = with_signed_form(story_form(**{"body": BODY, "identity_level": "named", **fields}))
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
    assert housing["direction"] is None  # no reading held up on real stories: the page asks what changed
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


def test_a_tag_without_selected_words_is_refused_beside_the_button_keeping_the_choices(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    response = client.post(
        f"/stories/{story_id}/tags/add", data={"domain": "health", "direction": "mixed", "start": "", "end": "", "quote": ""}
    )
    assert response.status_code == 422  # the page itself, not a redirect to its top
    page = response.get_data(as_text=True)
    problem = re.search(
        r'<p class="field-error" id="add-tag-problem" role="alert" tabindex="-1" autofocus>(.*?)</p>\s*<button', page
    )
    assert problem and "Select the words in the story" in problem[1]
    assert '<option value="health" selected>' in page and '<option value="mixed" selected>' in page


# A story as a browser submits it: CRLF line breaks, an emoji and a decomposed accent before the words selected.
TYPED = (
    "My name is Zoe\u0308 \U0001f642 and I am 81.\r\n\r\nThe volunteer rings on a Tuesday.\r\n"
    "Now we go to the Friday group together and I have made friends.\r\n\r\nI feel less lonely."
)
QUOTE = "we go to the Friday group together"


def page_text(page: str) -> str:
    """The story's text as a browser's HTML parser makes it: CR and CRLF become LF, NUL is dropped."""
    inner = re.search(r'<div class="story-text" id="story-text"[^>]*>(.*?)</div>', page, re.DOTALL)[1]
    return re.sub(r"\r\n?", "\n", html.unescape(re.sub(r"<[^>]+>", "", inner))).replace("\0", "")


def select(client, story_id: int, words: str) -> dict[str, str]:
    """What static/selection.js sends for these words selected on the page: code-point offsets and the words."""
    shown = page_text(client.get(f"/stories/{story_id}").get_data(as_text=True))
    start = shown.index(words)
    return {"start": str(start), "end": str(start + len(words)), "quote": words}


def test_words_selected_in_a_typed_story_are_its_evidence_whatever_comes_before_them(client, auth, db):
    auth.login("worker")
    story_id = record(client, body=TYPED)
    selected = select(client, story_id, QUOTE)
    response = client.post(f"/stories/{story_id}/tags/add", data={"domain": "relationships", "direction": "improved", **selected})
    assert response.status_code == 302
    assert tags(db, story_id)["relationships"]["evidence"] == QUOTE
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert re.search(rf'<mark class="evidence" title="[^"]*relationships[^"]*"[^>]*>{QUOTE}</mark>', page)


def test_offsets_from_a_page_loaded_before_the_story_changed_still_tag_the_words_selected(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    stale = {"start": "0", "end": "10", "quote": "I passed the food hygiene certificate."}
    client.post(f"/stories/{story_id}/tags/add", data={"domain": "what_we_do", "direction": "improved", **stale})
    assert tags(db, story_id)["what_we_do"]["evidence"] == "I passed the food hygiene certificate."
    gone = {"start": "0", "end": "10", "quote": "words that are not in the story"}
    response = client.post(f"/stories/{story_id}/tags/add", data={"domain": "health", "direction": "improved", **gone})
    assert response.status_code == 422
    assert "not in the story as it is now" in response.get_data(as_text=True)
    assert "health" not in tags(db, story_id) or tags(db, story_id)["health"]["origin"] == "machine"


def test_decisions_in_both_lenses_are_one_form_saved_together(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    forms = [form for form in re.findall(r"<form.*?</form>", page, re.DOTALL) if 'type="radio" id="confirm-' in form]
    assert len(forms) == 1, "every lens's decisions must be in one form, or saving one loses the other's"
    assert "Five Ways to Wellbeing" in forms[0] and "ONS wellbeing domains" in forms[0]
    lenses = {row["framework"]: row for row in db.query("SELECT * FROM outcome_tags WHERE story_id = ?", [story_id])}
    ons, five = lenses["ons-wellbeing"], lenses["five-ways"]
    response = client.post(
        f"/stories/{story_id}/tags",
        data={f"tag-{ons['id']}": "confirmed", f"tag-{ons['id']}-direction": "improved", f"tag-{five['id']}": "rejected"},
        follow_redirects=True,
    )
    said = response.get_data(as_text=True)
    assert f"accepted: {domain_label(ons['domain'])}; rejected: {domain_label(five['domain'])}" in said
    status = dict(db.execute("SELECT id, status FROM outcome_tags WHERE id IN (?, ?)", [ons["id"], five["id"]]).fetchall())
    assert status == {ons["id"]: "confirmed", five["id"]: "rejected"}


def test_a_direction_chosen_without_a_decision_sends_every_choice_back_unsaved(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    housing, money = tags(db, story_id)["where_we_live"], tags(db, story_id)["personal_finance"]
    response = client.post(
        f"/stories/{story_id}/tags",
        data={f"tag-{housing['id']}-direction": "mixed", f"tag-{money['id']}": "confirmed"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "You chose “mixed” for Where we live: choose Accept or Reject to save it." in page
    direction = re.search(rf'<select id="direction-{housing["id"]}"[^>]*>(.*?)</select>', page, re.DOTALL)[1]
    assert '<option value="mixed" selected>' in direction  # the choice is kept, to be decided on
    assert re.search(rf'id="confirm-{money["id"]}" name="tag-{money["id"]}" value="confirmed" checked', page)  # kept
    assert tags(db, story_id)["personal_finance"]["status"] == "suggested"  # nothing half-saved


def test_the_reviewer_is_told_an_outcome_without_evidence_words_will_not_be_published(client, auth, db):
    from stories.outcome_tags import save_confirmed_tag

    auth.login("reviewer")
    story_id = record(client)
    save_confirmed_tag(db, story_id, "health", "improved", (None, None), BODY)
    page = html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True))
    item = re.search(r'<li class="tag tag-confirmed[^"]*"[^>]*>(.*?)</li>', page, re.S)
    assert item and "Health" in item.group(1)
    assert "Not published: no words in the story show this outcome yet." in item.group(1)
    assert page.count("Not published: no words in the story show this outcome yet.") == 1


def test_where_the_tagger_is_not_trusted_the_page_asks_what_changed_and_accepting_needs_an_answer(client, auth, db, monkeypatch):
    monkeypatch.setattr(direction, "trust_table", lambda: {("better", "where_we_live"): 0.9})  # as if measured right
    auth.login("worker")
    story_id = record(client)
    housing, money = tags(db, story_id)["where_we_live"], tags(db, story_id)["personal_finance"]
    assert (housing["direction"], housing["direction_confidence"]) == ("improved", 0.9)  # measured right
    assert money["direction"] is None and money["direction_confidence"] is None  # not measured right: asked
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    asked = re.search(rf'<select id="direction-{money["id"]}"[^>]*>(.*?)</select>', page, re.DOTALL)[1]
    assert '<option value="" selected>What changed?</option>' in asked and "selected>improved" not in asked
    offered = re.search(rf'<select id="direction-{housing["id"]}"[^>]*>(.*?)</select>', page, re.DOTALL)[1]
    assert "What changed?" not in offered and '<option value="improved" selected>' in offered

    response = client.post(
        f"/stories/{story_id}/tags", data={f"tag-{money['id']}": "confirmed", f"tag-{money['id']}-direction": ""}
    )
    assert response.status_code == 422
    sent_back = response.get_data(as_text=True)
    assert "Choose what changed for Personal finance: improved, worsened, mixed, mentioned." in sent_back
    assert re.search(rf'id="confirm-{money["id"]}" name="tag-{money["id"]}" value="confirmed" checked', sent_back)
    assert tags(db, story_id)["personal_finance"]["status"] == "suggested"

    client.post(f"/stories/{story_id}/tags", data={f"tag-{money['id']}": "confirmed", f"tag-{money['id']}-direction": "mixed"})
    decided = tags(db, story_id)["personal_finance"]
    assert (decided["status"], decided["direction"]) == ("confirmed", "mixed")


def test_a_suggestion_left_undecided_or_rejected_needs_no_direction_but_a_confirmed_tag_always_has_one(client, auth, db):
    auth.login("worker")
    story_id = record(client)
    money = tags(db, story_id)["personal_finance"]
    skills = tags(db, story_id)["education_skills"]  # left undecided, with no direction: it waits
    response = client.post(
        f"/stories/{story_id}/tags", data={f"tag-{money['id']}": "rejected", f"tag-{skills['id']}-direction": ""}
    )
    assert response.status_code == 302
    assert tags(db, story_id)["education_skills"]["status"] == "suggested"
    assert (tags(db, story_id)["personal_finance"]["status"], tags(db, story_id)["personal_finance"]["direction"]) == (
        "rejected",
        None,
    )
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        db.execute("UPDATE outcome_tags SET status = 'confirmed' WHERE id = ?", [money["id"]])
