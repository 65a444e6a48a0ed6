"""Recording a story with its consent in the browser, and what happens when the form is wrong."""

from __future__ import annotations

import io
import re

from conftest import SIGNED_FORM, story_form, with_signed_form
from stories.records import get_story, list_stories


def test_a_worker_records_a_story_with_consent(client, auth, db, orgs):
    auth.login("worker")
    response = client.post("/stories/new", data=with_signed_form(story_form()), content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert b"Someone to ring on a Tuesday" in page.data
    assert b"Waiting for review" in page.data
    story = list_stories(db, orgs["a"])[0]
    consent = get_story(db, story["id"]).consent
    assert consent.audiences == {"team", "commissioners", "board", "public"}
    assert consent.method == "written" and consent.evidence_file.endswith(".pdf")


def test_a_half_filled_form_says_what_to_fix_and_keeps_the_story(client, auth, db, orgs):
    auth.login("worker")
    form = story_form(witness="", review_on="", audiences=["public"])
    response = client.post("/stories/new", data=form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Enter who witnessed consent: their name and role." in text
    assert "Enter when to review consent: at most three years ahead." in text
    assert "must at least include our team" in text
    assert "After my husband died I did not speak to anyone for weeks." in text  # the typed story survives
    assert 'value="Someone to ring on a Tuesday"' in text
    assert list_stories(db, orgs["a"]) == []


def test_a_consent_form_that_is_not_a_pdf_or_photo_is_refused_and_nothing_is_lost(client, auth, db, orgs):
    auth.login("worker")
    form = story_form(method="written", evidence_time="")
    form["evidence_upload"] = (io.BytesIO(b"MZ\x90\x00 this is an executable"), "consent.pdf")
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "must be a PDF or a photo" in text
    assert "After my husband died" in text
    assert list_stories(db, orgs["a"]) == []


def test_an_uploaded_form_is_kept_when_another_field_is_wrong(client, auth, db, orgs):
    auth.login("worker")
    pdf = SIGNED_FORM
    form = story_form(method="written", evidence_time="", title="")
    form["evidence_upload"] = (io.BytesIO(pdf), "signed.pdf")
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert "A form is already attached" in response.get_data(as_text=True)
    kept = response.get_data(as_text=True).split('name="evidence_file" value="')[1].split('"')[0]
    response = client.post("/stories/new", data=story_form(method="written", evidence_time="", evidence_file=kept))
    assert response.status_code == 302
    story = get_story(db, list_stories(db, orgs["a"])[0]["id"])
    assert story.consent.evidence_file == kept


def test_the_story_page_shows_where_it_can_be_seen_and_why(client, auth):
    auth.login("worker")
    form = with_signed_form(story_form(audiences=["team", "commissioners"]))
    location = client.post("/stories/new", data=form, content_type="multipart/form-data").headers["Location"]
    text = client.get(location).get_data(as_text=True)
    assert "not yet signed off by a reviewer" in text
    assert "consent does not include the public" in text
    location = client.post("/stories/new", data=story_form(title="No form yet")).headers["Location"]
    assert "no consent evidence: no signed consent form on file" in client.get(location).get_data(as_text=True)


def test_a_reviewer_signs_off_and_the_story_is_published(client, auth, instance):
    from stories.sqlite import sqlite3

    auth.login("reviewer")
    form = with_signed_form(story_form(identity_level="named"))
    location = client.post("/stories/new", data=form, content_type="multipart/form-data").headers["Location"]
    story_id = int(location.rsplit("/", 1)[1])
    client.post(f"/stories/{story_id}/names", data={"name-Priya": "keep"})  # at every identity level
    client.post(f"/stories/{story_id}/approve")
    with sqlite3.connect(instance.published_path("public")) as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM stories")]
    assert titles == ["Someone to ring on a Tuesday"]


def test_interventions_can_be_added_and_linked(client, auth, db):
    auth.login("worker")
    response = client.post("/interventions/new", data={"name": "", "contract_ref_kind": "ocds", "contract_ref": "LCC-1"})
    assert response.status_code == 422
    assert "An OCDS contracting process id starts with" in response.get_data(as_text=True)
    response = client.post(
        "/interventions/new",
        data={
            "name": "Telephone befriending",
            "commissioner": "Leeds City Council",
            "contract_ref_kind": "ocds",
            "contract_ref": "ocds-b5fd17-000123",
            "starts_on": "2024-04-01",
            "ends_on": "2027-03-31",
        },
    )
    assert response.status_code == 302
    intervention_id = db.execute("SELECT id FROM interventions").fetchone()[0]
    location = client.post("/stories/new", data=story_form(interventions=[str(intervention_id)])).headers["Location"]
    assert b"Telephone befriending" in client.get(location).data


def test_another_organisation_cannot_edit_an_intervention(client, auth, db, orgs):
    from stories.interventions import add_intervention

    intervention_id = add_intervention(db, {"name": "Debt clinic"}, provider_id=orgs["b"], actor="test")
    auth.login("worker")
    assert client.get(f"/interventions/{intervention_id}/edit").status_code == 404


def test_a_forged_evidence_file_name_cannot_point_outside_the_evidence_folder(client, auth, db, orgs, instance):
    auth.login("worker")
    response = client.post("/stories/new", data=story_form(method="written", evidence_time="", evidence_file="../storybank.db"))
    assert response.status_code == 422
    assert "please upload it again" in response.get_data(as_text=True)
    assert list_stories(db, orgs["a"]) == []
    import pytest

    from stories.records import record_story
    from stories.validation import Invalid

    with pytest.raises(Invalid) as error:
        record_story(db, story_form(evidence_file="../../etc/passwd"), organisation_id=orgs["a"], actor="t")
    assert "evidence_file" in error.value.problems


def test_the_story_list_is_paged_and_searchable(client, auth, db, orgs):
    from stories.records import record_story

    for n in range(55):
        record_story(
            db, story_form(title=f"Story number {n}", storyteller_reference=f"REF-{n}"), organisation_id=orgs["a"], actor="t"
        )
    auth.login("worker")
    first = client.get("/stories/").get_data(as_text=True)
    assert "55 stories" in first and "page 1 of 2" in first and first.count("Story number") == 50
    assert client.get("/stories/?page=2").get_data(as_text=True).count("Story number") == 5
    found = client.get("/stories/?q=REF-42").get_data(as_text=True)
    assert "Story number 42" in found and "1 story" in found


def test_the_consent_form_marks_what_is_required_and_says_what_each_choice_means(client, auth):
    """Issue 13: required groups unmarked, "Our team" a box that could be unticked, and the special-category
    tick limiting sharing to the team without saying so where it is chosen."""
    auth.login("worker")
    text = client.get("/stories/new").get_data(as_text=True)
    for legend in ("Who gave consent", "How consent was given", "How the storyteller is identified"):
        assert re.search(rf"<legend>{legend} <span class=\"required\">\(required\)</span></legend>", text), legend
    team = re.search(r'<input type="checkbox" id="audiences-1"[^>]*>', text)[0]
    assert "checked" in team and "disabled" in team  # shown ticked, cannot be unticked
    assert '<input type="hidden" name="audiences" value="team">' in text  # and always sent
    tick = re.search(r'<input type="checkbox" id="special_category"[^>]*>', text)[0]
    assert 'aria-describedby="special_category-hint"' in tick
    hint = re.search(r'<p class="hint" id="special_category-hint">(.*?)</p>', text, re.S)[1]
    assert "Without this tick the story stays with our team" in hint and "the public do not see it" in hint


def test_every_page_names_its_icon_and_the_icon_is_served(client, auth):
    """Issue 13: a missing favicon answered 404 on every page."""
    auth.login("worker")
    text = client.get("/stories/").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', text)[1]
    response = client.get(icon)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
