"""A worker states what changed while recording a story, picks the words the tagger proposes, and Datasette says who said so.

Runs in real Chromium at a phone's width and a laptop's, against real Storybank processes (app, worker,
Datasette); screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_helpers import ARTIFACTS, CHROMIUM, Steps, launched_chromium, poll, running_demo
from test_browser import REVIEWER, WORKER, fill_consent, fill_story, log_in, log_out
from test_browser_outcomes import drag_select

from stories.demo import stand_in_form
from stories.sqlite import sqlite3

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"browser test needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(sync_playwright is None, reason="browser test needs the Python playwright package"),
]

BODY = (
    "After my hip operation I stopped going out and I was very lonely. The befriending volunteer rings me every "
    "Tuesday. Now we go to the Friday group together and I have made two friends there. I feel like myself again."
)
STATED = {"Our relationships": "improved", "Personal well-being": "improved"}
JOB_TIMEOUT = 45  # s: tagging and republishing by the worker


@pytest.fixture(scope="module")
def storybank(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("stated-browser")) as running:
        yield running


@pytest.fixture
def chromium_browser():
    with launched_chromium() as chromium:
        yield chromium


def published_provenance(storybank, audience: str, story_id: int) -> dict[str, str]:
    path = storybank.instance / "published" / f"{audience}.db"
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT domain_label, provenance FROM story_outcomes WHERE story_id = ?", [story_id]).fetchall())


@pytest.mark.parametrize("width", [390, 1366])
def test_outcomes_stated_in_a_few_taps_are_published_as_the_storyteller_said(
    storybank, chromium_browser, request, tmp_path, width
):
    steps = Steps(chromium_browser, storybank, request.node.name)
    context = chromium_browser.new_context(viewport={"width": width, "height": 844 if width == 390 else 900})
    context.set_default_timeout(10_000)
    page = steps.watch(context.new_page())
    title = f"The Friday group at {width}"
    signed = tmp_path / "signed-consent.pdf"
    signed.write_bytes(stand_in_form(f"A consent form signed by the storyteller of {tmp_path.name}"))

    with steps("record a story and state two outcomes in four taps"):
        log_in(page, storybank.app_url, WORKER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Record a story").click()
        fill_story(page, title=title, reference=f"BF-STATED-{width}", names="Edna Price; Edna", body=BODY)
        taps = 0
        page.get_by_text("What changed for them?").click()
        taps += 1
        for domain, direction in STATED.items():
            page.get_by_role("group", name=domain).get_by_text(direction, exact=True).click()
            taps += 1
        page.get_by_role("group", name="Who said so?").get_by_text("the storyteller said so").click()
        taps += 1
        assert taps == 4
        for domain, direction in STATED.items():
            expect(page.get_by_role("group", name=domain).get_by_label(direction, exact=True)).to_be_checked()
        page.locator("#stated-outcomes").screenshot(path=ARTIFACTS / f"stated-on-the-form-{width}.png")
        fill_consent(page, signed_form=signed)
        page.get_by_role("button", name="Save story and consent").click()
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
        story_id = int(re.search(r"/stories/(\d+)$", page.url).group(1))

    with steps("pick the words the tagger proposes for each"):
        stated = page.locator("#stated")
        for domain in STATED:
            use = stated.get_by_role("button", name=f"Use these words for {domain.lower()}")
            expect(use).to_be_visible(timeout=JOB_TIMEOUT * 1000)  # the page reloads itself once the tagger is done
        page.locator("#stated").screenshot(path=ARTIFACTS / f"stated-proposals-{width}.png")
        for domain in STATED:
            stated.get_by_role("button", name=f"Use these words for {domain.lower()}").click()
            expect(
                page.get_by_role("alert").filter(has_text=f"{domain}: the proposed words are now its evidence")
            ).to_be_visible()
        for domain in STATED:
            tag = page.locator(".tag").filter(has=page.get_by_text(domain, exact=True))
            expect(tag.locator(".status")).to_contain_text("confirmed: the storyteller said")
            expect(tag.locator("blockquote")).not_to_be_empty()
        page.screenshot(path=ARTIFACTS / f"stated-evidence-chosen-{width}.png", full_page=True)

    with steps("a reviewer confirms the names and signs it off"):
        log_out(page)
        log_in(page, storybank.app_url, REVIEWER)
        page.goto(f"{storybank.app_url}/stories/{story_id}")
        names = page.get_by_role("region", name="Names in what would be published")
        if names.get_by_role("button", name="Save name decisions").count():
            for person in names.get_by_role("group").all():
                person.get_by_label("Replace it with").check()
            names.get_by_role("button", name="Save name decisions").click()
        page.get_by_role("button", name="Sign off this story for publication").click()
        expect(page.get_by_role("alert").filter(has_text="Signed off")).to_be_visible()

    with steps("see in the real Datasette who said so"):
        for audience in ("public", "commissioners"):
            assert poll(lambda a=audience: len(published_provenance(storybank, a, story_id)) >= 2, JOB_TIMEOUT), (
                f"the story's outcomes did not reach {audience}.db within {JOB_TIMEOUT} s"
            )
            said = published_provenance(storybank, audience, story_id)
            assert {domain: said[domain] for domain in STATED} == dict.fromkeys(STATED, "the storyteller said")
        page.goto(f"{storybank.datasette_url}/public/stories/{story_id}")
        for domain, direction in STATED.items():
            outcome = page.locator(".sb-outcomes li").filter(has=page.get_by_role("heading", name=f"{domain}: {direction}"))
            expect(outcome.locator(".sb-provenance")).to_have_text("Who says so: the storyteller said.")
        page.screenshot(path=ARTIFACTS / f"stated-in-datasette-{width}.png", full_page=True)

    context.close()
    assert not steps.page_errors, steps.page_errors


def test_a_form_sent_back_keeps_what_was_stated_and_a_contradiction_is_said_plainly(
    storybank, chromium_browser, request, tmp_path
):
    steps = Steps(chromium_browser, storybank, request.node.name)
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = steps.watch(context.new_page())
    signed = tmp_path / "signed-consent.pdf"
    signed.write_bytes(stand_in_form(f"A consent form signed by the storyteller of {tmp_path.name}"))

    with steps("state an outcome but not who said so, and be sent back with it kept"):
        log_in(page, storybank.app_url, WORKER)
        page.goto(f"{storybank.app_url}/stories/new")
        body = "I was lonely before the group. My arthritis got worse this winter and my health is poor, I can hardly walk."
        fill_story(page, title="Health said to improve", reference="BF-STATED-C", names="Edna Price", body=body)
        page.get_by_text("What changed for them?").click()
        page.get_by_role("group", name="Health").get_by_text("improved", exact=True).click()
        fill_consent(page, signed_form=signed)
        page.get_by_role("button", name="Save story and consent").click()
        expect(page.get_by_role("alert")).to_contain_text("Say who said what changed")
        expect(page.get_by_role("group", name="Health").get_by_label("improved", exact=True)).to_be_checked()
        expect(page.locator("#stated-outcomes")).to_have_attribute("open", "")
        page.get_by_role("link", name="Say who said what changed").click()
        page.locator("#stated-outcomes").screenshot(path=ARTIFACTS / "stated-sent-back-390.png")

    with steps("say who, save, and see the contradiction said beside the statement"):
        page.get_by_role("group", name="Who said so?").get_by_text("the storyteller said so").click()
        page.get_by_role("button", name="Save story and consent").click()
        expect(page.get_by_role("heading", name="Health said to improve", level=1)).to_be_visible()
        notice = page.locator("#stated .contradiction")
        expect(notice).to_contain_text("The story may say otherwise.", timeout=JOB_TIMEOUT * 1000)
        expect(notice).to_contain_text("the tagger reads health in this story as worsened")
        notice.scroll_into_view_if_needed()
        page.locator("#stated").screenshot(path=ARTIFACTS / "stated-contradiction-390.png")
        health = page.locator(".tag").filter(has=page.get_by_text("Health", exact=True))
        expect(health.get_by_label(re.compile("^Direction"))).to_have_value("improved")  # nothing changed for it

    with steps("select other words for the stated outcome, keeping its domain and direction"):
        page.locator("#stated").get_by_role("link", name="Select them yourself").click()
        add = page.locator("#add-tag")
        expect(add.get_by_label("Domain")).to_have_value("health")
        expect(add.get_by_label("Direction")).to_have_value("improved")
        drag_select(page, "#story-text", "my health is poor")
        add.get_by_role("button", name="Add this tag").click()
        health = page.locator(".tag").filter(has=page.get_by_text("Health", exact=True))
        expect(health.locator("blockquote")).to_have_text("my health is poor")
        expect(health.locator(".status")).to_contain_text("confirmed: the storyteller said")
        page.locator("#outcomes-heading").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "stated-own-words-390.png")

    context.close()
    assert not steps.page_errors, steps.page_errors
