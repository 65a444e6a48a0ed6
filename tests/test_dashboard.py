"""The evidence dashboard: what changed under a contract, how we know, and the stories behind each count."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from conftest import add_tag, datasette_get, sign_off, story_form, verify_today
from pipelines.publish import run_publish
from stories.datasette_plugin import make_datasette
from stories.interventions import add_intervention
from stories.records import record_story

DATASETTE = "http://127.0.0.1:8001"
SHARED = ["team", "commissioners"]
TEAM = ["team"]


class Links(HTMLParser):
    """Every link on a page, keyed by the words a screen reader would announce."""

    def __init__(self, html: str):
        super().__init__()
        self.links: dict[str, str] = {}
        self._href: str | None = None
        self._words: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._words = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._words.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links[" ".join("".join(self._words).split())] = self._href
            self._href = None


def links(html: str) -> dict[str, str]:
    return Links(html).links


def column_headers(html: str) -> list[str]:
    matrix = html[html.index('<table class="matrix">') :]
    matrix = matrix[: matrix.index("</thead>")]
    return [" ".join(re.sub("<[^>]+>", " ", th).split()) for th in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', matrix, re.S)]


def tag(db, story_id: int, domain: str, direction: str, evidence: str, framework: str = "ons-wellbeing") -> None:
    add_tag(db, story_id, domain, direction, evidence=evidence, framework=framework)


@pytest.fixture
def evidence(instance, db, orgs, users, signed_form):
    """LCC-7 covers befriending and a lunch club; GRANT-2 a money clinic. One story is for the team only."""

    def intervention(name, ref, commissioner):
        return add_intervention(
            db, {"name": name, "contract_ref": ref, "commissioner": commissioner}, provider_id=orgs["a"], actor="t"
        )

    befriending = intervention("Telephone befriending", "LCC-7", "Leeds City Council")
    lunch = intervention("Lunch club", "LCC-7", "Leeds City Council")
    clinic = intervention("Money clinic", "GRANT-2", "Lottery")
    stories = [
        (
            "Verified one",
            befriending,
            "2024-01-15",
            True,
            SHARED,
            [("relationships", "improved", "Priya rings every Tuesday."), ("health", "mixed", "I sleep a little better.")],
        ),
        ("Verified two", befriending, "2024-03-10", True, SHARED, [("relationships", "improved", "I have a friend now.")]),
        ("Not verified", befriending, "2024-03-20", False, SHARED, [("relationships", "worsened", "My sister moved away.")]),
        ("Lunch story", lunch, "2024-03-01", True, SHARED, [("relationships", "improved", "I laugh with everyone at lunch.")]),
        ("Other contract", clinic, "2024-01-20", True, SHARED, [("personal_finance", "improved", "The bailiffs stopped.")]),
        ("Team only", befriending, "2024-02-20", True, TEAM, [("relationships", "improved", "Words only my team may read.")]),
    ]
    for title, intervention_id, told_on, verified, audiences, tags in stories:
        story_id = record_story(
            db,
            story_form(
                title=title,
                identity_level="named",
                told_on=told_on,
                audiences=audiences,
                interventions=[str(intervention_id)],
                evidence_file=signed_form(),
            ),
            organisation_id=orgs["a"],
            actor="t",
            user_id=users["worker"],
        )
        for domain, direction, words in tags:
            tag(db, story_id, domain, direction, words)
        if title == "Verified one":
            tag(db, story_id, "connect", "improved", "Priya rings every Tuesday.", framework="five-ways")
        sign_off(db, story_id, users["reviewer"])  # the evidence quotes too: not all are the body's words
        if verified:
            verify_today(db, story_id, users["reviewer"])
    run_publish(instance)


@pytest.fixture
def commissioner(client, auth):
    auth.login("commissioner")
    return client


def test_a_commissioner_sees_what_changed_under_a_contract_by_direction(commissioner, evidence):
    page = commissioner.get("/dashboard/?contract=LCC-7").text
    counts = links(page)
    assert "2 improved in Our relationships under Telephone befriending" in counts
    assert "1 mixed in Health under Telephone befriending" in counts
    assert "1 improved in Our relationships under Lunch club" in counts
    assert "3 improved in Our relationships under All interventions" in counts
    assert "What changed under LCC-7, and how we know" in page
    assert "I laugh with everyone at lunch." in page and "I sleep a little better." in page  # the storytellers' words
    assert "£" not in page


def test_verified_only_by_default_and_switchable(commissioner, evidence):
    verified = links(commissioner.get("/dashboard/?contract=LCC-7").text)
    assert not any("worsened" in words for words in verified)
    everything = links(commissioner.get("/dashboard/?contract=LCC-7&verification=all").text)
    assert "1 worsened in Our relationships under Telephone befriending" in everything
    assert "verification__not" not in everything["1 worsened in Our relationships under Telephone befriending"]


def test_filtering_by_contract_narrows_to_its_interventions(commissioner, evidence):
    assert [h.split(" LCC-7")[0] for h in column_headers(commissioner.get("/dashboard/?contract=LCC-7").text)] == [
        "Wellbeing domain",
        "Lunch club",
        "Telephone befriending",
        "All interventions",
    ]
    grant = column_headers(commissioner.get("/dashboard/?contract=GRANT-2").text)
    assert grant == ["Wellbeing domain", "Money clinic GRANT-2 · Befriending Network", "All interventions"]


def test_a_count_links_to_exactly_the_stories_behind_it(instance, client, commissioner, evidence):
    counts = links(commissioner.get("/dashboard/?contract=LCC-7").text)
    href = counts["2 improved in Our relationships under Telephone befriending"]
    assert href.startswith(f"{DATASETTE}/commissioners/story_outcomes?")
    path, query = href.removeprefix(DATASETTE).split("?")

    cookies = {"storybank_session": client.get_cookie("storybank_session").value}
    rows = datasette_get(make_datasette(instance), f"{path}.json?_shape=objects&{query}", cookies).json()["rows"]
    assert sorted(row["title"] for row in rows) == ["Verified one", "Verified two"]


def test_stories_over_time_draw_one_bar_group_per_month(commissioner, evidence):
    page = commissioner.get("/dashboard/?verification=all").text
    chart = page[page.index('<svg class="bars"') : page.index("</svg>", page.index('<svg class="bars"'))]
    assert chart.count('<g class="period">') == 3  # January to March 2024: February, with no story, still shows
    assert ">Feb 2024</text>" in chart and "style=" not in page and "<script>" not in page
    assert '<caption class="visually-hidden">Stories per month by direction of change</caption>' in page


def test_the_five_ways_lens_and_the_period_are_filters_too(commissioner, evidence):
    assert "1 improved in Connect under Telephone befriending" in links(commissioner.get("/dashboard/?framework=five-ways").text)
    assert "Connect" not in commissioner.get("/dashboard/").text.split('<table class="matrix">')[1]
    assert "No stories match these filters" in commissioner.get("/dashboard/?from=2025").text


def test_the_dashboard_never_shows_a_story_kept_from_commissioners(commissioner, evidence):
    page = commissioner.get("/dashboard/?verification=all").text
    assert "Words only my team may read." not in page and "Team only" not in page
    assert "4 improved in Our relationships under All interventions" not in links(page)


def test_a_worker_may_not_see_the_dashboard(client, auth, evidence):
    auth.login("worker")
    assert client.get("/dashboard/").status_code == 403


def test_a_reviewer_sees_the_counts_without_explorer_links_they_cannot_open(client, auth, evidence):
    auth.login("reviewer")
    page = client.get("/dashboard/").text
    assert "2 improved" in page and f"{DATASETTE}/commissioners" not in page


def test_nothing_published_yet_is_explained(commissioner, instance):
    response = commissioner.get("/dashboard/")
    assert response.status_code == 200 and "No evidence published for commissioners yet" in response.text


def test_a_reviewer_sees_only_their_own_organisations_evidence(client, auth, db, orgs, users, instance, signed_form):
    from pipelines.publish import run_publish
    from stories.auth import add_user
    from stories.records import record_story

    add_user(
        db,
        username="reviewer_b",
        display_name="Reviewer B",
        password="correct horse battery",
        role="reviewer",
        organisation_id=orgs["b"],
        actor="t",
    )
    form = story_form(title="Across town", identity_level="named", evidence_file=signed_form())
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
    add_tag(db, story_id, evidence="I tell my friends across town about it.")
    sign_off(db, story_id, users["reviewer"])
    run_publish(instance)
    auth.login("reviewer_b")
    page = client.get("/dashboard/?verification=all").get_data(as_text=True)
    assert "I tell my friends across town about it." not in page
    # Not even how many stories the other organisations published (found from outside: "24 stories in all").
    assert "No evidence published for commissioners yet" in page and "stories in all" not in page
    auth.logout()
    auth.login("reviewer")
    assert "I tell my friends across town about it." in client.get("/dashboard/?verification=all").get_data(as_text=True)


def test_a_year_in_digits_python_cannot_read_is_ignored_not_a_server_error(client, auth):
    auth.login("commissioner")
    for year in ("²²²²", "٢٠٢٥", "9" * 30, "-2025"):
        assert client.get("/dashboard/", query_string={"from": year, "to": year}).status_code == 200


def test_in_their_own_words_quotes_a_storyteller_saying_something_never_a_staff_note(
    commissioner, db, instance, orgs, users, signed_form
):
    """Found from outside: the demo's dashboard quoted "Money." and "Written up by Helen Marsh, money adviser..."."""
    said = {
        "Money.": "personal_finance",
        "Written up by Helen Marsh, money adviser, and read back to Arthur, who asked us to add it.": "health",
        "He now has the heating on in the mornings and evenings.": "where_we_live",
        "I don't have to choose which room we can afford to heat any more.": "relationships",
    }
    for number, (words, domain) in enumerate(said.items()):
        form = story_form(title=f"Story {number}", identity_level="named", evidence_file=signed_form())
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
        tag(db, story_id, domain, "improved", words)
        sign_off(db, story_id, users["reviewer"])
        verify_today(db, story_id, users["reviewer"])
    run_publish(instance)
    quoted = re.findall(r"<blockquote>(.*?)</blockquote>", commissioner.get("/dashboard/").text, re.S)
    assert quoted == ["I don&#39;t have to choose which room we can afford to heat any more."]
