"""Datasette as a commissioner reads it: questions chosen from lists with no SQL, a story page worth reading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import add_tag, datasette_get, sign_off, story_form, verify_today
from pipelines.publish import run_publish
from stories.datasette_plugin import make_datasette
from stories.interventions import add_intervention
from stories.records import record_story

LONG_BODY = (
    "My name is Margaret Holt. After my husband died I did not speak to anyone for weeks, and the days ran "
    "into each other so that I could not tell a Monday from a Thursday or a morning from an afternoon.\n\n"
    "Now Priya rings every Tuesday and I go to the lunch club. I feel like myself again."
)
EVIDENCE = "I go to the lunch club."
SQL_SIGNS = ("from story_outcomes", "Run SQL", "Edit SQL", "<textarea", "CREATE TABLE", "sql-query")


@pytest.fixture
def evidence(instance, db, orgs, users, signed_form):
    """Two contracts: under LCC-7 two verified stories, under GRANT-2 one; each tells of relationships improved,
    and the GRANT-2 story of health improved too."""
    lcc = add_intervention(
        db,
        {"name": "Telephone befriending", "contract_ref": "LCC-7", "commissioner": "Leeds City Council"},
        provider_id=orgs["a"],
        actor="t",
    )
    grant = add_intervention(
        db, {"name": "Money clinic", "contract_ref": "GRANT-2", "commissioner": "Lottery"}, provider_id=orgs["a"], actor="t"
    )
    made = {"lcc": lcc, "grant": grant}
    for title, intervention in [("Verified one", lcc), ("Verified two", lcc), ("Other contract", grant)]:
        form = story_form(
            title=title, body=LONG_BODY, identity_level="named", interventions=[str(intervention)], evidence_file=signed_form()
        )
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="t", user_id=users["worker"])
        sign_off(db, story_id, users["reviewer"])
        add_tag(db, story_id, evidence=EVIDENCE)
        verify_today(db, story_id, users["reviewer"])
        made[title] = story_id
    add_tag(db, made["Other contract"], domain="health", evidence="I feel like myself again.")
    run_publish(instance)
    return made


@pytest.fixture
def cookie(client, auth):
    def login(username: str) -> dict[str, str]:
        auth.login(username)
        return {"storybank_session": client.get_cookie("storybank_session").value}

    return login


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_question_is_asked_by_choosing_from_lists_read_from_the_file_with_no_sql(instance, evidence, cookie):
    page = datasette_get(make_datasette(instance), "/commissioners/verified_improvements", cookie("commissioner")).text
    assert not any(sign in page for sign in SQL_SIGNS)  # was: the SQL, a "Run SQL" button and text boxes wanting codes
    assert re.search(r'<select id="choice-domain" name="domain">\s*<option value="">Any outcome</option>', page)
    assert '<option value="relationships">Our relationships</option>' in page
    assert '<option value="LCC-7">LCC-7: Telephone befriending (Leeds City Council)</option>' in page
    assert '<option value="GRANT-2">GRANT-2: Money clinic (Lottery)</option>' in page
    assert "4 improvements in 3 stories" in text_of(page)


def test_the_answer_says_what_was_asked_and_what_a_row_means(instance, evidence, cookie):
    page = datasette_get(
        make_datasette(instance),
        "/commissioners/stories_by_outcome?domain=relationships&direction=improved&intervention=Telephone+befriending",
        cookie("commissioner"),
    ).text
    said = text_of(page)
    assert "2 outcomes in 2 stories: Our relationships, improved, after Telephone befriending" in said
    assert "Each row is one outcome a person confirmed in a story" in said
    assert f'href="/commissioners/stories/{evidence["Verified one"]}">Verified one</a>' in page
    assert '<option value="Telephone befriending" selected>' in page  # the choice made stays chosen


def test_a_question_nothing_answers_says_which_choice_to_let_go_and_what_that_finds(instance, evidence, cookie):
    worsened = "/commissioners/stories_by_outcome?domain=relationships&direction=worsened"
    page = datasette_get(make_datasette(instance), worsened, cookie("commissioner")).text
    said = text_of(page)
    assert "Nothing in this file answers Our relationships, worsened" in said  # was: a bare "0 results"
    assert "“worsened” is not one of the choices in this file" in said  # no outcome here worsened
    assert "Any change instead of “worsened”: 3 outcomes" in said
    assert 'href="/commissioners/stories_by_outcome?domain=relationships"' in page
    assert "Any outcome instead of" not in said  # letting the outcome go finds nothing more: not offered
    page = datasette_get(
        make_datasette(instance),
        "/commissioners/stories_by_outcome?domain=health&intervention=Telephone+befriending",
        cookie("commissioner"),
    ).text
    said = text_of(page)
    assert "is not one of the choices" not in said  # each choice is in the file; only together do they find nothing
    tips = re.findall(r"<li><a [^>]+>(Any [^<]+)</a> instead of ([^:]+): (\d+)", page)
    assert tips == [("Any outcome", "Health", "2"), ("Any service", "Telephone befriending (Befriending Network)", "1")]


def test_a_word_that_is_not_a_choice_is_named_and_kept(instance, evidence, cookie):
    page = datasette_get(make_datasette(instance), "/public/stories_by_outcome?domain=gardening", cookie("commissioner")).text
    said = text_of(page)
    assert "“gardening” is not one of the choices in this file: choose one from the list." in said
    assert '<option value="gardening" selected>gardening (not in this file)</option>' in page
    assert "Any outcome instead of “gardening”: 4 outcomes" in said


@pytest.mark.parametrize("typed", ["loneliness", "Lonely", "isolated"])
def test_a_word_that_names_an_outcome_is_read_as_that_outcome_and_says_so(instance, evidence, cookie, typed):
    """The question reads the commissioner's word through the outcome vocabulary, as the search box does
    (was: "“loneliness” is not one of the choices", and nothing answered)."""
    ds = make_datasette(instance)
    page = datasette_get(ds, f"/public/stories_by_outcome?domain={typed}", cookie("commissioner")).text
    said = text_of(page)
    assert f"“{typed}” is read as the outcome Our relationships" in said
    assert "not one of the choices" not in said
    assert '<option value="relationships" selected>Our relationships</option>' in page
    assert "3 outcomes in 3 stories: Our relationships" in said
    rows = datasette_get(ds, f"/public/stories_by_outcome.json?_shape=objects&domain={typed}").json()["rows"]
    assert {row["domain_label"] for row in rows} == {"Our relationships"} and len(rows) == 3
    improved = datasette_get(ds, f"/commissioners/verified_improvements?domain={typed}", cookie("commissioner")).text
    assert "3 improvements in 3 stories: Our relationships" in text_of(improved)


def test_the_domain_is_chosen_by_its_label_or_its_code(instance, evidence, cookie):
    ds = make_datasette(instance)
    for domain in ("relationships", "Our relationships"):
        rows = datasette_get(ds, f"/public/stories_by_outcome.json?_shape=objects&domain={domain}").json()["rows"]
        assert len(rows) == 3, domain


def test_an_admin_can_still_read_and_edit_the_sql(instance, evidence, cookie):
    page = datasette_get(make_datasette(instance), "/commissioners/verified_improvements", cookie("admin")).text
    assert "The SQL behind this question (admins only)" in page and "from story_outcomes" in page and "Edit SQL" in page


def test_the_public_file_asks_the_same_questions(instance, evidence):
    ds = make_datasette(instance)
    front = datasette_get(ds, "/").text
    for question in ("Stories where an outcome changed after a service", "What changed under a contract, and how we know"):
        assert question in front
    page = datasette_get(ds, "/public/contract_evidence?contract=GRANT-2").text
    assert not any(sign in page for sign in SQL_SIGNS)
    assert "2 outcomes in 1 story: under GRANT-2: Money clinic (Lottery)" in text_of(page)


def test_a_story_page_reads_as_a_story_with_its_evidence_marked(instance, evidence, cookie):
    story_id = evidence["Verified one"]
    page = datasette_get(make_datasette(instance), f"/commissioners/stories/{story_id}", cookie("commissioner")).text
    said = text_of(page)
    assert '<p>Now Priya rings every Tuesday and <mark title="Our relationships: improved">I go to the lunch club.</mark>' in page
    assert "Our relationships: improved" in said and f"<blockquote><mark>{EVIDENCE}</mark></blockquote>" in page
    assert f'href="/commissioners/interventions/{evidence["lcc"]}">Telephone befriending</a>' in page
    assert 'href="/commissioners/contract_evidence?contract=LCC-7">LCC-7</a>' in page
    assert "Named, as the storyteller chose" in said
    assert "Shared with commissioners" in said and "Verified by a second person" in said
    assert '["' not in page  # no list shown as raw JSON
    assert "🔒" not in page and "Commissioners only: this file is not public" in said
    assert "<svg" in page


def test_lists_are_lists_and_a_long_story_is_opened_not_poured_into_the_stories_list(instance, evidence):
    page = datasette_get(make_datasette(instance), "/public/stories").text
    assert '<ul class="sb-list"><li><a href="/public/stories_by_intervention?intervention=Telephone+befriending">' in page
    assert "<li>Our relationships: improved</li>" in page
    assert "I feel like myself again" not in page  # the second paragraph is on the story's own page
    assert "from a Thursday or a morning from an afternoon.…</p>" in page
    assert '["' not in page


def test_lists_facet_as_arrays(instance, evidence):
    data = datasette_get(make_datasette(instance), "/public/stories.json?_facet_array=interventions").json()
    counts = {item["value"]: item["count"] for item in data["facet_results"]["interventions"]["results"]}
    assert counts == {"Telephone befriending": 2, "Money clinic": 1}


def test_the_schema_sql_is_for_admins_only(instance, evidence, cookie):
    ds = make_datasette(instance)
    for path in ("/public/stories", "/public/story_outcomes", "/public/interventions"):
        assert "CREATE TABLE" not in datasette_get(ds, path).text, path
        assert "CREATE TABLE" not in datasette_get(ds, path, cookie("commissioner")).text, path
    assert "CREATE TABLE" in datasette_get(ds, "/public/stories", cookie("admin")).text


def test_no_page_draws_the_padlock_as_an_emoji(instance, evidence, cookie):
    ds = make_datasette(instance)
    commissioner = cookie("commissioner")
    pages = ("/", "/commissioners", "/commissioners/stories", "/commissioners/story_outcomes", "/commissioners/contract_evidence")
    for path in pages:
        page = datasette_get(ds, path, commissioner).text
        assert "🔒" not in page, path
        assert "commissioners only" in page.lower(), path


COPIED = "story_id, title, domain, domain_label, direction, evidence, year, verification, framework"


def test_a_long_answer_lists_the_newest_hundred_and_says_there_are_more(instance, evidence, cookie):
    """At 100,000 stories a question listed up to 1,000 rows, sorted from every outcome, in 1.5-6 s a page."""
    import sqlite3

    import yaml

    with sqlite3.connect(instance.published_path("commissioners")) as conn:  # as if the file held 150 more
        conn.executemany(
            f"INSERT INTO story_outcomes ({COPIED}) SELECT {COPIED} FROM story_outcomes WHERE domain = 'relationships' LIMIT 1",
            [()] * 150,
        )
    page = datasette_get(
        make_datasette(instance), "/commissioners/stories_by_outcome?domain=relationships", cookie("commissioner")
    ).text
    said = text_of(page)
    assert "More than 100 outcomes: Our relationships" in said
    assert "100 are listed, the latest year first." in said
    assert page.count("<tr>") == 101  # the heading row and 100 answers
    metadata = yaml.safe_load((Path(__file__).parent.parent / "datasette-metadata.yml").read_text())
    rows = metadata["plugins"]["storybank"]["answer_rows"]
    for name, query in metadata["databases"]["commissioners"]["queries"].items():
        assert query["sql"].endswith(f"limit {rows + 1}") or name == "stories_per_outcome_per_intervention", name
