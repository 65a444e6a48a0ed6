"""The Datasette explorer: facets and canned questions a commissioner asks, and what the public may count."""

from __future__ import annotations

import pytest

from conftest import add_tag, datasette_get, sign_off, story_form, verify_today
from pipelines.publish import run_publish
from stories.datasette_plugin import make_datasette
from stories.interventions import add_intervention
from stories.records import record_story


@pytest.fixture
def evidence(instance, db, orgs, users, signed_form):
    """Two contracts; under LCC-7 two verified stories and one unverified; under GRANT-2 one verified."""
    lcc = add_intervention(
        db,
        {"name": "Telephone befriending", "contract_ref": "LCC-7", "commissioner": "Leeds City Council"},
        provider_id=orgs["a"],
        actor="t",
    )
    grant = add_intervention(
        db, {"name": "Money clinic", "contract_ref": "GRANT-2", "commissioner": "Lottery"}, provider_id=orgs["a"], actor="t"
    )
    made = {}
    for title, intervention, verified in [
        ("Verified one", lcc, True),
        ("Verified two", lcc, True),
        ("Not verified", lcc, False),
        ("Other contract", grant, True),
    ]:
        story_id = record_story(
            db,
            story_form(title=title, identity_level="named", interventions=[str(intervention)], evidence_file=signed_form()),
            organisation_id=orgs["a"],
            actor="t",
            user_id=users["worker"],
        )
        sign_off(db, story_id, users["reviewer"])
        add_tag(db, story_id, evidence="I go to the lunch club.")
        if verified:
            verify_today(db, story_id, users["reviewer"])
        made[title] = story_id
    run_publish(instance)
    return made


@pytest.fixture
def commissioner_cookie(client, auth):
    auth.login("commissioner")
    return {"storybank_session": client.get_cookie("storybank_session").value}


def test_a_contract_lists_exactly_its_verified_stories(instance, evidence, commissioner_cookie):
    ds = make_datasette(instance)
    response = datasette_get(
        ds, "/commissioners/verified_improvements.json?_shape=objects&domain=relationships&contract=LCC-7", commissioner_cookie
    )
    assert sorted(row["title"] for row in response.json()["rows"]) == ["Verified one", "Verified two"]


def test_what_changed_under_a_contract(instance, evidence, commissioner_cookie):
    ds = make_datasette(instance)
    rows = datasette_get(ds, "/commissioners/contract_evidence.json?_shape=objects&contract=GRANT-2", commissioner_cookie).json()[
        "rows"
    ]
    assert [(r["title"], r["domain_label"], r["direction"]) for r in rows] == [
        ("Other contract", "Our relationships", "improved")
    ]


def test_commissioners_facet_outcomes_by_domain_contract_and_verification(instance, evidence, commissioner_cookie):
    ds = make_datasette(instance)
    data = datasette_get(
        ds, "/commissioners/story_outcomes.json?_facet=contract_ref&_facet=verification&_facet=domain_label", commissioner_cookie
    ).json()
    facets = {name: {item["value"]: item["count"] for item in facet["results"]} for name, facet in data["facet_results"].items()}
    assert facets["contract_ref"] == {"LCC-7": 3, "GRANT-2": 1}
    assert facets["verification"] == {"Verified by a second person": 3, "Not yet verified": 1}
    assert facets["domain_label"] == {"Our relationships": 4}


def test_stories_per_outcome_per_intervention(instance, evidence, commissioner_cookie):
    ds = make_datasette(instance)
    rows = datasette_get(
        ds, "/commissioners/stories_per_outcome_per_intervention.json?_shape=objects", commissioner_cookie
    ).json()["rows"]
    assert {r["intervention"]: r["stories"] for r in rows} == {"Money clinic": 1, "Telephone befriending": 3}


def test_public_counts_are_the_public_rows_counted_and_say_so(instance, evidence):
    """Every row a public count is made from is itself public: the count shows it exactly, as a filter on the rows would."""
    ds = make_datasette(instance)
    rows = datasette_get(ds, "/public/stories_per_outcome_per_intervention.json?_shape=objects").json()["rows"]
    assert {r["intervention"]: r["stories"] for r in rows} == {"Money clinic": 1, "Telephone befriending": 3}
    same = datasette_get(ds, "/public/story_outcomes.json?intervention=Money+clinic&domain_label=Our+relationships").json()
    assert same["filtered_table_rows_count"] == 1
    facets = datasette_get(ds, "/public/story_outcomes.json?_facet=contract_ref").json()["facet_results"]
    assert {item["value"]: item["count"] for item in facets["contract_ref"]["results"]} == {"LCC-7": 3, "GRANT-2": 1}
    page = datasette_get(ds, "/public").text + datasette_get(ds, "/public/outcome_summary").text
    assert "fewer than" not in page.lower()  # no promise of hiding what the rows show


def test_a_public_story_carries_the_month_it_was_told_not_the_day(instance, db, evidence):
    """The exact day, beside the area and a small intervention, can point to a person: the public file has the month."""
    story_id = evidence["Verified one"]
    told_on = db.execute("SELECT told_on FROM stories WHERE id = ?", [story_id]).fetchone()[0]
    ds = make_datasette(instance)
    public = datasette_get(ds, f"/public/stories/{story_id}.json?_shape=objects").json()["rows"][0]
    assert public["told_on"] == told_on[:7]
    assert told_on.encode() not in instance.published_path("public").read_bytes()
    assert told_on.encode() in instance.published_path("commissioners").read_bytes()


def test_the_story_text_is_rendered_as_paragraphs(instance, db, orgs, users, signed_form):
    story_id = record_story(
        db,
        story_form(body="First paragraph about Priya.\n\nSecond paragraph.", identity_level="named", evidence_file=signed_form()),
        organisation_id=orgs["a"],
        actor="t",
    )
    sign_off(db, story_id, users["reviewer"])
    run_publish(instance)
    page = datasette_get(make_datasette(instance), f"/public/stories/{story_id}").text
    assert "<p>First paragraph about Priya.</p><p>Second paragraph.</p>" in page
