"""Identity on publication, walked as an outsider would: the app's real forms, then the published bytes.

Issue 12, items 1 and 2: a storyteller's surname in any spelling, another person's name at any
identity level, and a contribution statement added after sign-off must never reach a published
file without a reviewer's decision.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from conftest import add_tag, story_form, with_signed_form
from pipelines.publish import run_publish
from stories.cli import cli
from stories.identity import names_for_review, published_texts, published_version
from stories.recordings import add_recording, correct_transcript, save_transcript
from stories.records import approve_story, get_story, record_story

SURNAME_FORMS = ("Holt", "H-O-L-T", "H O L T", "h.o.l.t", "Hölt", "Ｈｏｌｔ", "Holt-Barnes", "Barnes")


def no_trace(instance, *texts: str) -> list[str]:
    """What `storybank check-no-trace --published` found of texts: [] when nothing."""
    result = CliRunner().invoke(cli, ["check-no-trace", *texts, "--published", "--instance", str(instance.root)])
    return re.findall(r"FOUND '(.*?)'", result.output)


def record(client, **fields) -> int:
    response = client.post("/stories/new", data=with_signed_form(story_form(**fields)))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def sign_off(client, story_id: int) -> None:
    assert client.post(f"/stories/{story_id}/approve").status_code == 302


def decide(client, story_id: int, **choices: str) -> None:
    """Submit the story page's names form: name -> "keep" or a placeholder to replace it with."""
    form = {}
    for name, choice in choices.items():
        form[f"name-{name}"] = "keep" if choice == "keep" else "redact"
        if choice != "keep":
            form[f"name-{name}-placeholder"] = choice
    assert client.post(f"/stories/{story_id}/names", data=form).status_code == 302


def public_rows(instance, sql: str) -> list[tuple]:
    from stories.sqlite import sqlite3

    with sqlite3.connect(instance.published_path("public")) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("level", ["first_name", "anonymous"])
def test_a_surname_in_any_form_never_reaches_a_published_file(client, auth, instance, level):
    auth.login("reviewer")
    story_id = record(
        client,
        identity_level=level,
        body="When I married I became Margaret Holt-Barnes. Holt, that's H-O-L-T, or H O L T, or h.o.l.t. "
        "The letters came to Hölt and to Ｈｏｌｔ. Now Priya rings every Tuesday and I feel like myself again.",
    )
    decide(client, story_id, Priya="keep")
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT id FROM stories") == [(story_id,)]
    assert no_trace(instance, *SURNAME_FORMS) == []
    body = public_rows(instance, "SELECT body FROM stories")[0][0]
    assert "Priya rings every Tuesday" in body
    if level == "first_name":
        assert "When I married I became Margaret." in body


@pytest.mark.parametrize("level", ["named", "first_name"])
def test_another_persons_name_waits_for_a_reviewer_at_every_level(client, auth, instance, level):
    auth.login("reviewer")
    story_id = record(
        client,
        identity_level=level,
        body="My name is Margaret Holt. My neighbour Janet Pryce and Steven Barraclough from the council "
        "helped me. Now Priya rings every Tuesday and I feel like myself again.",
    )
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT id FROM stories") == []  # signed off, but names undecided
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "names in the published text not yet decided on by a reviewer" in page
    for name in ("Janet Pryce", "Steven Barraclough", "Priya"):
        assert f'name="name-{name}"' in page  # a keep-or-replace control for each, at this level too
    assert 'name="name-Margaret Holt"' not in page and 'name="name-Margaret"' not in page  # the storyteller's own

    decide(client, story_id, **{"Janet Pryce": "[my neighbour]", "Steven Barraclough": "keep"})
    assert public_rows(instance, "SELECT id FROM stories") == []  # Priya still undecided
    decide(client, story_id, Priya="keep")
    body = public_rows(instance, "SELECT body FROM stories")[0][0]
    assert "My neighbour [my neighbour]" not in body and "[my neighbour] and Steven Barraclough" in body
    assert no_trace(instance, "Janet", "Pryce") == []


def test_a_contribution_statement_added_after_sign_off_goes_back_to_review(client, auth, db, instance):
    auth.login("reviewer")
    story_id = record(client, identity_level="pseudonym")
    decide(client, story_id, Priya="keep")
    sign_off(client, story_id)
    tag_id = add_tag(db, story_id, "relationships", evidence="I go to the lunch club.")
    assert public_rows(instance, "SELECT id FROM stories") == [(story_id,)]

    statement = "her neighbour Dave Pickersgill at 14 Elm Street got her to ring"
    client.post(f"/stories/{story_id}/outcomes/{tag_id}/link", data={"contribution_statement": statement})
    assert get_story(db, story_id).status == "submitted"
    run_publish(instance)
    assert public_rows(instance, "SELECT id FROM stories") == []
    assert no_trace(instance, "Pickersgill", "Elm Street") == []

    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "Waiting for review" in page
    for name in ("Dave Pickersgill", "14 Elm Street"):
        assert f'name="name-{name}"' in page
    assert "Contribution statement (Our relationships)" in page
    decide(client, story_id, **{"Dave Pickersgill": "[her neighbour]", "14 Elm Street": "[address]"})
    sign_off(client, story_id)
    published = public_rows(instance, "SELECT contribution_statement FROM story_outcomes")
    assert published == [("[her neighbour] at [address] got her to ring",)]
    assert no_trace(instance, "Pickersgill", "Elm Street", "Dave") == []


def test_every_published_field_changed_after_sign_off_sends_the_story_back(db, orgs, users):
    story_id = record_story(db, story_form(), organisation_id=orgs["a"], actor="t")
    approve = lambda: approve_story(db, story_id, actor="t", user_id=users["reviewer"])  # noqa: E731
    tag_id = add_tag(db, story_id, evidence="I feel like myself again.")
    changes = {
        "title": "UPDATE stories SET title = 'A new title' WHERE id = ?",
        "body": "UPDATE stories SET body = body || ' And Janet helped.' WHERE id = ?",
        "contribution statement": f"UPDATE outcome_tags SET contribution_statement = 'Janet' WHERE id = {tag_id} AND 1 = ?",
        "evidence not in the body": f"UPDATE outcome_tags SET evidence = 'Janet said so' WHERE id = {tag_id} AND 1 = ?",
    }
    round_id = db.execute(
        "INSERT INTO msc_rounds (organisation_id, domain, title, created_at) VALUES (?, 'relationships', 'R', 'now')",
        [orgs["a"]],
    ).lastrowid
    changes["most significant change reason"] = (
        f"INSERT INTO msc_choices (round_id, story_id, reason, chosen_at) VALUES ({round_id}, ?, 'Janet said so', 'now')"
    )
    for field, sql in changes.items():
        approve()
        db.execute(sql, [story_id if "stories" in sql or "msc" in sql else 1])
        assert get_story(db, story_id).status == "submitted", field
    approve()
    db.execute("UPDATE outcome_tags SET direction = 'mixed' WHERE id = ?", [tag_id])  # no published words changed
    assert get_story(db, story_id).status == "approved"
    fields = {text.key.split(":")[0] for text in published_texts(get_story(db, story_id))}
    assert fields == {"title", "body", "evidence", "contribution", "msc"}  # each walked above
    logged = db.execute("SELECT count(*) FROM audit_log WHERE action = 'story.back_to_review' AND story_id = ?", [story_id])
    assert logged.fetchone()[0] == len(changes)


def test_a_transcript_spelling_a_surname_as_heard_is_still_hidden(db, orgs, users):
    form = story_form(identity_level="anonymous", storyteller_names="Margaret Grimsditch; Maggie", body="")
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="t", source="audio")
    recording_id = add_recording(db, story_id, audio_file="x.wav", duration=9.0, codec="pcm", actor="t")
    said = "My name is Margaret Grinstich. Price is what I paid. The Gristwich family next door helped."
    save_transcript(db, story_id, recording_id, segments=[{"start": 0, "end": 9, "text": said}], language="en", model="t")
    correct_transcript(db, story_id, [said], actor="t", reviewed=True)
    story = get_story(db, story_id)
    version = published_version(story)
    assert "Grinstich" not in version.body and "Margaret" not in version.body
    assert "Price is what I paid" in version.body  # an everyday word opening a sentence is left alone
    review = {item["name"]: item for item in names_for_review(story)}
    assert review["Gristwich"]["suggestion"] == "[the storyteller]"  # less sure: flagged, never silently kept
    assert "Gristwich" in version.unresolved_names


def test_a_typed_story_keeps_words_that_only_sound_like_the_storyteller(db, orgs):
    form = story_form(identity_level="anonymous", storyteller_names="Margaret Grimsditch", body="I met Grinstich.")
    story = get_story(db, record_story(db, form, organisation_id=orgs["a"], actor="t"))
    assert "Grinstich" in published_version(story).body  # typed: spelled as the worker meant it
