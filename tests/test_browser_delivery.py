"""A commissioner opens a contract and sees what it promised, what the stories evidence, and what nobody promised.

Real Chromium at 390 and 1366 px on the demo instance, served as `storybank serve` serves it. Every page is
checked by journey_checks.PageChecks (axe-core, no sideways scrolling, nothing missing) and kept as a
screenshot in test-artifacts/journeys/.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, Storybank, launched_chromium, log_in, running_demo
from journey_checks import Axe, checked_page, screenshot

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"the journey needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(sync_playwright is None, reason="the journey needs the Python playwright package"),
    pytest.mark.skipif(Axe is None, reason="the journey needs axe-playwright-python (axe-core)"),
]

WIDTHS = (390, 1366)
BEFRIENDING = "ocds-b5fd17-000123"
HOUSING = "LCC-HOU-2024-017"
UNEVIDENCED = "Tenants get on top of rent arrears and money worries"


@pytest.fixture(scope="module")
def storybank(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("delivery")) as running:
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


def published_promises(storybank: Storybank, contract: str) -> dict[str, int]:
    """Each promise of a contract and the verified stories evidencing it, straight from the commissioners' file."""
    path = storybank.instance / "published" / "commissioners.db"
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
        return dict(db.execute("SELECT outcome, stories FROM commitments WHERE contract = ?", [contract]).fetchall())


def test_a_commissioner_sees_what_a_contract_promised_and_what_the_stories_show(storybank, visit, width):
    page, check, steps = visit
    promised = published_promises(storybank, BEFRIENDING)
    assert len(promised) == 3 and all(promised.values())
    with steps("log in and open promises and delivery from the menu"):
        log_in(page, storybank.app_url, "commissioner")
        page.get_by_role("link", name="Promises and delivery").click()
    with steps("choose the befriending contract: each promise beside the stories that evidence it"):
        page.get_by_label("Contract or grant").select_option(BEFRIENDING)
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("heading", level=2).first).to_have_text(f"What {BEFRIENDING} promised, and what the stories show")
        for outcome, stories in promised.items():
            promise = page.locator("article.promise", has=page.get_by_role("heading", name=outcome))
            noun = "story" if stories == 1 else "stories"
            expect(promise.locator(".evidence-count")).to_contain_text(f"Evidenced by {stories} verified {noun}")
            expect(promise.locator("blockquote").first).to_be_visible()  # the storytellers' own words
        expect(page.get_by_role("heading", name="What changed that nobody promised")).to_be_visible()
        assert "£" not in page.locator("main").inner_text()
        check(page, "delivery, befriending contract")
        screenshot(page, "delivery befriending", width)
    with steps("the housing contract: a promise with no evidence is flagged in words"):
        page.get_by_label("Contract or grant").select_option(HOUSING)
        page.get_by_role("button", name="Show").click()
        flagged = page.locator("article.promise", has=page.get_by_role("heading", name=UNEVIDENCED))
        expect(flagged).to_contain_text("No evidence yet.")
        expect(page.locator(".figures-list")).to_contain_text("1 with no evidence yet")
        check(page, "delivery, housing contract")
        screenshot(page, "delivery housing", width)
    with steps("the same question in the explorer, in words and counted alike"):
        page.get_by_role("link", name="Ask the same question in the explorer").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("What did this contract promise")
        expect(page.get_by_label("Contract or grant")).to_have_value(HOUSING)  # the question asked of this contract only
        expect(page.locator("table tbody tr", has_text=BEFRIENDING)).to_have_count(0)
        row = page.locator("table tbody tr", has_text=UNEVIDENCED)
        expect(row).to_contain_text("No evidence yet")
        assert not re.search(r"select |from commitments", page.locator("body").inner_text(), re.IGNORECASE)
        check(page, "explorer question, housing contract")
        screenshot(page, "delivery question", width)


def test_a_worker_writes_down_what_a_contract_promised_and_a_mistake_loses_nothing(storybank, visit, width):
    page, check, steps = visit
    outcome = f"Carers get a short break each week ({width} px)"
    with steps("open the intervention's promises from the interventions list"):
        log_in(page, storybank.app_url, "worker-befriend")
        page.get_by_role("link", name="Interventions").click()
        page.get_by_role("link", name="What it promised (Telephone befriending)").click()
        check(page, "commitments of an intervention")
    with steps("a promise with no domain and a period that ends before it starts comes back with both said"):
        page.get_by_label("The outcome, in the contract's own words").fill(outcome)
        page.get_by_label("Additional: an added social value commitment").check()
        page.get_by_label("Period from").fill("2025-05-01")
        page.get_by_label("Period to").fill("2024-05-01")
        page.get_by_role("button", name="Add the commitment").click()
        expect(page.get_by_text("Choose at least one outcome domain this commitment is about.").first).to_be_visible()
        expect(page.get_by_text("The period ends before it starts.").first).to_be_visible()
        expect(page.get_by_label("The outcome, in the contract's own words")).to_have_value(outcome)
        check(page, "commitment refused")
        screenshot(page, "commitment refused", width)
    with steps("fixed, it is saved"):
        page.get_by_label("Personal well-being").check()
        page.get_by_label("Period to").fill("2026-05-01")
        page.get_by_role("button", name="Add the commitment").click()
        expect(page.get_by_role("cell", name=outcome, exact=True)).to_be_visible()
        check(page, "commitment added")
