"""Board case studies: only board-consented stories, shown and exported as the board may read them."""

from __future__ import annotations

import datetime as dt
import html
import re
import zlib

import pytest

from conftest import add_tag, story_form
from stories.records import approve_story, change_consent, decide_name, get_story, record_story
from stories.withdrawal import withdraw

HIDDEN_NAMES = ("Margaret", "Holt", "Maggie", "Priya")


@pytest.fixture
def approved_story(signed_form):
    """Record a story with its signed consent form and sign it off; returns its id."""

    def approve(db, organisation_id, reviewer_id, *, redact_priya=True, **overrides) -> int:
        form = story_form(evidence_file=signed_form("test"), **overrides)
        story_id = record_story(db, form, organisation_id=organisation_id, actor="test", user_id=reviewer_id)
        # A reviewer decides on every other person's name at every identity level.
        decide_name(db, story_id, "Priya", "redact" if redact_priya else "keep", placeholder="my befriender", actor="test")
        approve_story(db, story_id, actor="test", user_id=reviewer_id)
        return story_id

    return approve


@pytest.fixture
def story_id(db, orgs, users, approved_story) -> int:
    """An anonymous story, consented for the board and signed off."""
    return approved_story(db, orgs["a"], users["reviewer"])


@pytest.fixture
def case_study(client, auth, story_id) -> str:
    """The builder page of a case study on that story, as the presenter."""
    auth.login("presenter")
    framing = {"title": "Loneliness, and a Tuesday phone call", "context": "Why this matters for our befriending contract."}
    response = client.post(f"/case-studies/stories/{story_id}", data=framing)
    assert response.status_code == 303
    return response.headers["Location"]


def add_quote(client, case_study: str, words: str, start: str = ""):
    return client.post(f"{case_study}/quotes", data={"quote": words, "start": start})


def export(client, case_study: str, kind: str):
    return client.post(f"{case_study}/export", data={"kind": kind})


def inflated(pdf: bytes) -> bytes:
    """A PDF's streams, decompressed: WeasyPrint compresses even its metadata."""
    return b"".join(zlib.decompress(stream) for stream in re.findall(rb"stream\n(.*?)\nendstream", pdf, re.DOTALL))


def exports(db) -> list[dict]:
    return list(db.query("SELECT * FROM exports ORDER BY id"))


def test_a_presenter_sees_only_their_organisations_board_consented_stories(
    client, auth, db, orgs, users, story_id, approved_story
):
    team_only = approved_story(db, orgs["a"], users["reviewer"], title="Only for our team", audiences=["team", "commissioners"])
    elsewhere = approved_story(db, orgs["b"], users["reviewer"], title="Another organisation's story")
    auth.login("presenter")
    text = client.get("/case-studies/").get_data(as_text=True)
    assert "Someone to ring on a Tuesday" in text
    assert "Only for our team" not in text
    assert "Another organisation" not in text
    assert client.get(f"/case-studies/stories/{team_only}").status_code == 403
    assert client.get(f"/case-studies/stories/{elsewhere}").status_code == 404


def test_the_preview_shows_the_story_at_its_identity_level(client, auth, db, orgs, users, story_id, approved_story):
    named = approved_story(db, orgs["a"], users["reviewer"], identity_level="named", redact_priya=False)
    auth.login("presenter")
    anonymous = client.get(f"/case-studies/stories/{story_id}").get_data(as_text=True)
    assert "My name is [the storyteller]." in anonymous
    assert "Told anonymously" in anonymous
    assert "Named case study" not in anonymous
    assert not any(name in anonymous for name in HIDDEN_NAMES)
    shown = client.get(f"/case-studies/stories/{named}").get_data(as_text=True)
    assert "Named case study" in shown
    assert "Told by Margaret Holt" in shown


def test_a_pull_quote_must_be_the_published_words(client, case_study, db):
    refused = add_quote(client, case_study, "My name is Margaret Holt.")
    assert refused.status_code == 422
    assert "not in the story as the board will read it" in refused.get_data(as_text=True)
    assert "My name is Margaret Holt." in refused.get_data(as_text=True)  # what was typed is kept to correct
    # Pasted across a line break the browser turned into spaces: stored as the story's exact words.
    assert add_quote(client, case_study, "  Now [my befriender]   rings every Tuesday ").status_code == 303
    [row] = db.query("SELECT quotes FROM case_studies")
    assert '"text": "Now [my befriender] rings every Tuesday"' in row["quotes"]


def test_bad_framing_is_explained_and_nothing_typed_is_lost(client, case_study, db):
    framing = {"title": "Margaret Holt's Tuesdays", "context": "It saved the council £2,000 a year."}
    response = client.post(case_study, data=framing)
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "“Margaret Holt”, not named in the story as the board reads it" in text
    assert "money value" in text
    assert '''value="Margaret Holt's Tuesdays"''' in text and "It saved the council £2,000 a year." in text
    [row] = db.query("SELECT title, context FROM case_studies")
    assert row["context"] == "Why this matters for our befriending contract."


def test_markdown_and_html_exports_carry_quotes_and_context_but_no_hidden_name(client, case_study):
    add_quote(client, case_study, "I feel like myself again.")
    for kind, mimetype, extension in (("markdown", "text/markdown", "md"), ("html", "text/html", "html")):
        response = export(client, case_study, kind)
        text = response.get_data(as_text=True)
        assert response.mimetype == mimetype
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Disposition"].endswith(f'-{dt.date.today().isoformat()}.{extension}"')
        assert "I feel like myself again." in text
        assert "Why this matters for our befriending contract." in text
        assert "Told anonymously" in text and "Named case study" not in text
        assert not any(name in text for name in HIDDEN_NAMES)
    assert "<style>" in text and "http://" not in text and "https://" not in text  # standalone page


def test_a_pdf_export_is_rendered_offline_by_weasyprint(client, case_study):
    add_quote(client, case_study, "I feel like myself again.")
    response = export(client, case_study, "pdf")
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    objects = inflated(response.data)
    assert b"/Producer (WeasyPrint" in objects
    assert b"DejaVu" in objects  # fonts from the system, nothing fetched


def test_every_export_is_in_the_register_with_the_consent_version(client, case_study, db, users, story_id):
    export(client, case_study, "markdown")
    export(client, case_study, "html")
    version = get_story(db, story_id).consent.version
    assert [(e["story_id"], e["kind"], e["audience"], e["user_id"], e["consent_version"]) for e in exports(db)] == [
        (story_id, "markdown", "board", users["presenter"], version),
        (story_id, "html", "board", users["presenter"], version),
    ]


def test_a_board_export_of_a_story_without_board_consent_is_refused(
    client, case_study, db, orgs, users, story_id, approved_story
):
    form = get_story(db, story_id).consent.evidence_file  # the story's own signed form still stands
    change_consent(db, story_id, "amended", story_form(audiences=["team", "commissioners"], evidence_file=form), actor="test")
    response = export(client, case_study, "pdf")
    assert response.status_code == 303
    text = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing was exported" in text and "consent does not include board case studies" in text
    assert exports(db) == []
    no_board = approved_story(db, orgs["a"], users["reviewer"], audiences=["team"])
    assert client.post(f"/case-studies/stories/{no_board}", data={"title": "Not for the board"}).status_code == 403


def test_an_export_after_consent_was_withdrawn_is_refused(client, case_study, db, story_id):
    add_quote(client, case_study, "I feel like myself again.")
    withdraw(db, story_id, actor="test", reason="Asked us to stop using it")
    # Withdrawal deletes drafts: they held the storyteller's words for an audience now refused.
    assert export(client, case_study, "markdown").status_code == 404
    assert "I feel like myself again." not in client.get("/case-studies/").get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM case_studies").fetchone()[0] == 0
    assert exports(db) == []


def test_a_quote_is_dropped_when_a_later_name_decision_hides_its_words(client, auth, db, orgs, users, approved_story):
    story_id = approved_story(db, orgs["a"], users["reviewer"], identity_level="named", redact_priya=False)
    auth.login("presenter")
    case_study = client.post(f"/case-studies/stories/{story_id}", data={"title": "Tuesdays"}).headers["Location"]
    add_quote(client, case_study, "Now Priya rings every Tuesday")
    decide_name(db, story_id, "Priya", "redact", placeholder="my befriender", actor="test")
    response = export(client, case_study, "markdown")
    assert "Pull quotes no longer in the story" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert exports(db) == []


@pytest.mark.parametrize("role", ["worker", "commissioner"])
def test_only_presenters_reach_the_builder(client, auth, case_study, role):
    auth.logout()
    auth.login(role)
    assert client.get("/case-studies/").status_code == 403
    assert client.get(case_study).status_code == 403
    assert export(client, case_study, "markdown").status_code == 403


@pytest.mark.parametrize("title", ["", "   ", "\u200b\u200b", "\u00a0\u2060"])
def test_a_title_that_shows_nothing_starts_no_case_study_and_says_what_to_do(client, auth, db, story_id, title):
    """Issue 13: an empty (required) title must not create a case study, nor one of invisible characters."""
    auth.login("presenter")
    response = client.post(f"/case-studies/stories/{story_id}", data={"title": title, "context": "Kept as typed."})
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert "Give the case study a title for the board." in text and "Kept as typed." in text
    assert db.execute("SELECT count(*) FROM case_studies").fetchone()[0] == 0


def test_the_markdown_export_quotes_evidence_only_where_an_outcome_has_some(client, case_study, db, story_id):
    """Issue 13: an outcome confirmed without evidence printed an empty quote (“”) in the Markdown."""
    add_tag(db, story_id, "health", "improved")  # no evidence span: a person tagged the whole story
    text = export(client, case_study, "markdown").get_data(as_text=True)
    assert "- **Health** (improved)\n" in text
    assert "“”" not in text


def test_a_presenter_finds_their_own_exports_from_the_menu(client, auth, case_study, story_id):
    """Issue 13: /exports/ did not list the presenter's own exports, and no menu linked to it."""
    export(client, case_study, "markdown")
    export(client, case_study, "pdf")
    page = client.get("/case-studies/").get_data(as_text=True)
    assert re.search(r'<a href="/exports/">Exports</a>', page)
    text = client.get("/exports/").get_data(as_text=True)
    assert "Copies you exported" in text
    assert text.count(f">Story {story_id}</td>") == 2
    assert "Case study (Markdown)" in text and "Case study (PDF)" in text
