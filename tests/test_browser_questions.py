"""A commissioner finds "Our relationships improved after befriending" in Datasette by choosing, never seeing SQL.

Real Chromium at 390 and 1366 px on the demo instance, Storybank's processes started as `storybank serve`
starts them (so Datasette runs with the templates and styles `storybank datasette` passes). Every page is
checked by journey_checks.PageChecks (axe-core, no sideways scrolling, ids, nothing missing) and kept as a
screenshot in test-artifacts/journeys/.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, Storybank, launched_chromium, log_in, running_demo
from journey_checks import Axe, checked_page, screenshot

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"the journey needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(sync_playwright is None, reason="the journey needs the Python playwright package"),
    pytest.mark.skipif(Axe is None, reason="the journey needs axe-playwright-python (axe-core)"),
]

WIDTHS = (390, 1366)
SERVICE = "Face-to-face befriending and Friday groups"
SQL_WORDS = ("select ", "from story_outcomes", "Run SQL", "Edit SQL", "CREATE TABLE")
PHONE_STORIES_HEIGHT = 9000  # px for the public file's 10 stories at 390 px; they took ~20,000 shown as a table


@pytest.fixture(scope="module")
def storybank(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("questions")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def width(request) -> int:
    return request.param


@pytest.fixture
def visit(browser, storybank, width, request):
    with checked_page(browser, storybank, width, request.node.name) as visiting:
        yield visiting


def no_sql_seen(page: Page) -> None:
    shown = page.locator("body").inner_text()
    assert not any(word.lower() in shown.lower() for word in SQL_WORDS), shown[:2000]
    expect(page.locator("textarea")).to_have_count(0)


def published_answer(storybank: Storybank) -> tuple[int, int]:
    """(outcomes, stories) the question should find, counted straight from the commissioners' published file."""
    path = storybank.instance / "published" / "commissioners.db"
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
        return db.execute(
            "SELECT count(*), count(DISTINCT story_id) FROM story_outcomes"
            " WHERE domain_label = 'Our relationships' AND direction = 'improved' AND intervention = ?",
            [SERVICE],
        ).fetchone()


def test_a_commissioner_finds_relationships_improved_after_befriending_by_choosing(storybank, visit, width):
    page, check, steps = visit
    outcomes, stories = published_answer(storybank)
    assert outcomes >= 2
    with steps("log in to the app, then open Datasette's front page"):
        log_in(page, storybank.app_url, "commissioner")
        page.goto(f"{storybank.datasette_url}/")
        check(page, "datasette front page, commissioner")
        no_sql_seen(page)
        expect(page.get_by_text("commissioners only").first).to_be_visible()
    with steps("choose the question, then the outcome, the change and the service from lists"):
        section = page.get_by_role("region", name="Evidence for commissioners")
        section.get_by_role("link", name="Stories where an outcome changed after a service").click()
        check(page, "question, nothing chosen")
        no_sql_seen(page)
        page.get_by_label("Outcome", exact=True).select_option(label="Our relationships")
        page.get_by_label("How it changed").select_option(label="improved")
        page.get_by_label("After the service").select_option(label=f"{SERVICE} (Aireside Befriending Network)")
        page.get_by_role("button", name="Show the answer").click()
    with steps("the answer, in words"):
        asked = f"Our relationships, improved, after {SERVICE} (Aireside Befriending Network)"
        heading = f"{outcomes} outcomes in {stories} stories: {asked}"
        expect(page.get_by_role("heading", level=2)).to_have_text(heading)
        expect(page.get_by_label("Outcome", exact=True)).to_have_value("relationships")  # the choices stay chosen
        expect(page.locator("table tbody tr")).to_have_count(outcomes)
        check(page, "question, answered")
        no_sql_seen(page)
        screenshot(page, "question answered", width)
    with steps("a story from the answer, read as a story"):
        page.locator("table tbody tr").first.get_by_role("link").first.click()
        expect(page.get_by_role("heading", name="What changed")).to_be_visible()
        expect(page.locator(".sb-story-body mark").first).to_be_visible()
        expect(page.get_by_role("link", name=SERVICE).first).to_be_visible()
        check(page, "story page, commissioner")
        no_sql_seen(page)
        screenshot(page, "story page", width)
    with steps("a choice that finds nothing says what to try, and the way out works"):
        page.goto(f"{storybank.datasette_url}/commissioners/stories_by_outcome?domain=relationships&direction=worsened")
        expect(page.get_by_role("status")).to_contain_text("Nothing in this file answers Our relationships, worsened")
        check(page, "question, nothing answers")
        page.get_by_role("link", name="Any change").click()
        expect(page.get_by_role("heading", level=2)).to_contain_text("outcomes in")


def test_a_commissioner_types_loneliness_on_the_front_page_and_chooses_improved_after_befriending(storybank, visit, width):
    """The issue's "done when": typed in their own word, then chosen from lists, with no code or SQL seen."""
    page, check, steps = visit
    outcomes, stories = published_answer(storybank)
    with steps("log in, open Datasette's front page and search the commissioners' stories for loneliness"):
        log_in(page, storybank.app_url, "commissioner")
        page.goto(f"{storybank.datasette_url}/")
        check(page, "datasette front page with search boxes")
        section = page.get_by_role("region", name="Evidence for commissioners")
        section.get_by_label("Search the stories in your own words").fill("loneliness")
        section.get_by_role("button", name="Search").click()
    with steps("the results say loneliness is an outcome, and link to it"):
        note = page.locator(".message-info")
        expect(note).to_contain_text("“loneliness” names an outcome: Our relationships")
        expect(page.locator("input[name=_search]").first).to_have_value("loneliness")  # what was typed stays
        check(page, "search for loneliness, commissioner")
        no_sql_seen(page)
        screenshot(page, "search for loneliness", width)
        note.get_by_role("link", name="Our relationships").click()
    with steps("the question opens with the outcome chosen; choose how it changed and the service"):
        expect(page.get_by_label("Outcome", exact=True)).to_have_value("relationships")
        check(page, "question, outcome chosen from the search")
        no_sql_seen(page)
        page.get_by_label("How it changed").select_option(label="improved")
        page.get_by_label("After the service").select_option(label=f"{SERVICE} (Aireside Befriending Network)")
        page.get_by_role("button", name="Show the answer").click()
    with steps("the answer: loneliness improved after befriending, in the storytellers' words"):
        asked = f"Our relationships, improved, after {SERVICE} (Aireside Befriending Network)"
        expect(page.get_by_role("heading", level=2)).to_have_text(f"{outcomes} outcomes in {stories} stories: {asked}")
        expect(page.locator("table tbody tr")).to_have_count(outcomes)
        expect(page.locator("td.col-evidence").first).not_to_be_empty()
        check(page, "answer reached by typing and choosing")
        no_sql_seen(page)
        screenshot(page, "loneliness improved after befriending", width)


def test_the_public_reads_the_stories_on_a_phone(storybank, visit, width):
    page, check, steps = visit
    with steps("the public stories: a list of stories, each opened on its own page"):
        page.goto(f"{storybank.datasette_url}/public/stories")
        check(page, "public stories")
        no_sql_seen(page)
        height = page.evaluate("document.documentElement.scrollHeight")
        if width < 800:
            assert height < PHONE_STORIES_HEIGHT, height
        page.locator(".sb-card h2 a").first.click()
        expect(page.get_by_role("heading", name="What changed")).to_be_visible()
        check(page, "public story page")
        no_sql_seen(page)
