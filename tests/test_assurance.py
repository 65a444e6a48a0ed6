"""The assurance chain: member checks, second-person verification, and outcomes linked to what produced them."""

from __future__ import annotations

import pytest

from conftest import add_tag, sign_off, story_form
from pipelines.publish import run_publish
from stories import assurance
from stories.interventions import add_intervention
from stories.records import record_story
from stories.sqlite import sqlite3
from stories.validation import Invalid


@pytest.fixture
def story(db, orgs, users, signed_form):
    intervention = add_intervention(
        db, {"name": "Telephone befriending", "contract_ref": "LCC-7"}, provider_id=orgs["a"], actor="t"
    )
    story_id = record_story(
        db,
        story_form(identity_level="named", interventions=[str(intervention)], evidence_file=signed_form()),
        organisation_id=orgs["a"],
        actor="t",
        user_id=users["worker"],
    )
    sign_off(db, story_id, users["reviewer"])
    tag_id = add_tag(db, story_id, evidence="I go to the lunch club.")
    return {"id": story_id, "tag": tag_id, "intervention": intervention}


def verification(instance):
    with sqlite3.connect(instance.published_path("commissioners")) as conn:
        return conn.execute("SELECT verification FROM stories").fetchone()[0]


def test_verification_level_is_published_and_grows_with_each_check(instance, db, users, story):
    run_publish(instance)
    assert verification(instance) == "Not yet verified"
    assurance.record_member_check(
        db,
        story["id"],
        {"method": "read_back", "verified_on": "2026-11-01"},
        actor="t",
        user_id=users["worker"],
        recorded_by="Worker",
    )
    run_publish(instance)
    assert verification(instance) == "Checked with the storyteller"
    assurance.record_second_person(
        db,
        story["id"],
        {"verified_on": "2026-11-02", "note": "Tenancy checked"},
        actor="t",
        user_id=users["reviewer"],
        verifier="Reviewer",
    )
    run_publish(instance)
    assert verification(instance) == "Checked with the storyteller and verified by a second person"


def test_the_person_who_recorded_a_story_cannot_be_its_second_verifier(db, users, story):
    with pytest.raises(Invalid) as error:
        assurance.record_second_person(
            db, story["id"], {"verified_on": "2026-11-02"}, actor="t", user_id=users["worker"], verifier="Worker"
        )
    assert "not the person who recorded it" in error.value.problems["verifier"]


def test_a_member_check_needs_a_method_and_a_date_not_in_the_future(db, users, story):
    with pytest.raises(Invalid) as error:
        assurance.record_member_check(
            db, story["id"], {"method": "telepathy", "verified_on": "2999-01-01"}, actor="t", user_id=None, recorded_by="x"
        )
    assert set(error.value.problems) == {"method", "verified_on"}


def test_an_outcome_link_records_intervention_contribution_and_words(instance, db, users, story):
    assurance.link_outcome(
        db,
        story["id"],
        story["tag"],
        {
            "intervention_id": str(story["intervention"]),
            "contribution": "additional",
            "contribution_statement": "Margaret Holt said the volunteer rang even on Christmas Day.",
        },
        actor="t",
        intervention_ids=[story["intervention"]],
    )
    assert run_publish(instance)["commissioners"] == 0  # new words to publish: back to the reviewer first
    sign_off(db, story["id"], users["reviewer"])
    run_publish(instance)
    with sqlite3.connect(instance.published_path("commissioners")) as conn:
        row = conn.execute(
            "SELECT intervention, contract_ref, contribution, contribution_statement FROM story_outcomes"
        ).fetchone()
    assert row[:3] == ("Telephone befriending", "LCC-7", "additional")
    assert "rang even on Christmas Day" in row[3]


def test_an_outcome_cannot_be_linked_to_an_intervention_the_story_is_not_linked_to(db, story):
    with pytest.raises(Invalid):
        assurance.link_outcome(
            db, story["id"], story["tag"], {"intervention_id": "999"}, actor="t", intervention_ids=[story["intervention"]]
        )


def test_member_check_and_verification_in_the_app(client, auth, db, story):
    auth.login("worker")
    client.post(f"/stories/{story['id']}/member-check", data={"method": "phone", "verified_on": "2026-11-01"})
    assert client.post(f"/stories/{story['id']}/verify", data={"verified_on": "2026-11-01"}).status_code == 403
    auth.logout()
    auth.login("reviewer")
    client.post(f"/stories/{story['id']}/verify", data={"verified_on": "2026-11-02", "note": "Checked the tenancy"})
    page = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert "Checked with the storyteller and verified by a second person" in page
