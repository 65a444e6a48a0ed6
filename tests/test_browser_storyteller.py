"""A storyteller with only the printed receipt reads their story as published, narrows it and withdraws it from a phone.

Real Storybank processes on a demo instance and Debian's Chromium: the worker gives the receipt from the story
page; the storyteller's phone (390 and 320 px) opens the link printed on it and reads the story as the public file holds it; a
phone without scripts shows less of them, then withdraws, and the story is gone from the real Datasette
within 2 s and from the published files' bytes. Every page is checked by axe-core (journey_checks) at
that width; axe needs scripts, so the pages are checked on the scripted phone.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, Steps, Storybank, launched_chromium, poll, running_demo
from journey_checks import Axe, PageChecks

from stories.demo import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # CI installs it; elsewhere the journey says why it is skipped
    expect = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"the journey needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(expect is None, reason="the journey needs the Python playwright package"),
    pytest.mark.skipif(Axe is None, reason="the journey needs axe-playwright-python (axe-core)"),
]

# One demo story per width, each consented to the public at first-name level.
STORIES = {390: "Someone to ring on a Tuesday", 320: "What I get out of it"}
REBUILD_TIMEOUT = 60  # s: the worker rebuilding after the narrowing


@pytest.fixture(scope="module")
def storybank(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("storyteller")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


def story_id(storybank: Storybank, title: str) -> int:
    with sqlite3.connect(f"file:{storybank.instance / 'storybank.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT id FROM stories WHERE title = ?", [title]).fetchone()[0]


def public_row(storybank: Storybank, story: int) -> dict | None:
    """The story's row as the public Datasette serves it now, or None when it serves none."""
    try:
        with urllib.request.urlopen(f"{storybank.datasette_url}/public/stories.json?_shape=objects&id={story}") as response:
            rows = json.load(response)["rows"]
    except urllib.error.HTTPError:
        return None
    return rows[0] if rows else None


def as_public(page):
    """The part of the storyteller's page showing the story as the public sees it."""
    return page.get_by_role("article").filter(has=page.get_by_role("heading", name=re.compile("Anyone, on our public website")))


def published_bytes(storybank: Storybank) -> bytes:
    return b"".join(
        (storybank.instance / "published" / f"{audience}.db").read_bytes() for audience in ("public", "commissioners")
    )


@pytest.mark.parametrize("width", [390, 320], ids=lambda width: f"{width}px")
def test_a_storyteller_reads_narrows_and_withdraws_with_only_the_receipt(storybank, browser, width, request):
    steps = Steps(browser, storybank, request.node.name)
    check = PageChecks(width)
    app = storybank.app_url
    story = story_id(storybank, STORIES[width])
    before = public_row(storybank, story)
    assert before and before["storyteller"], "the demo publishes this story to the public under a first name"
    words = re.findall(r"[A-Za-z]{6,}", before["body"])
    phrase = " ".join(before["body"].split()[3:9]).encode()

    worker = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    phone = browser.new_context(viewport={"width": width, "height": 740})
    # A basic phone: no scripts at all. (axe-core needs scripts, so the pages are checked on `phone`.)
    basic = browser.new_context(viewport={"width": width, "height": 740}, java_script_enabled=False)
    basic.set_default_timeout(15_000)
    try:
        page = check.watch(steps.watch(worker.new_page()))
        with steps("the worker gives the consent receipt from the story page"):
            page.goto(f"{app}/auth/login")
            page.get_by_label("Username").fill("worker-befriend")
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto(f"{app}/stories/{story}")
            page.get_by_role("button", name="Give the storyteller their consent receipt").click()
            expect(page.get_by_role("heading", name="Your consent receipt", level=1)).to_be_visible()
            check(page, f"consent receipt, worker, for the {width} px phone")
            link = page.locator(".link-text").inner_text().strip()
            code = page.locator(".short-code").inner_text().strip()
            assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", code)
            assert page.locator(".qr svg").count() == 1
            with page.expect_download() as download:
                page.get_by_role("button", name="Download the receipt as a PDF").click()
            assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

        mine = check.watch(steps.watch(phone.new_page()))
        with steps("the storyteller opens the link printed on the receipt"):
            mine.goto(link)
            assert mine.url.endswith("/mine/story"), "the token leaves the address bar"
            expect(mine.get_by_role("heading", name="Your story", level=1)).to_be_visible()
            public = as_public(mine)
            expect(public).to_contain_text(f"Named as: {before['storyteller']}")
            expect(public).to_contain_text(before["title"])
            for word in words[:5]:
                expect(public).to_contain_text(word)
            check(mine, "the storyteller's page")

        plain = steps.watch(basic.new_page())
        with steps("on a phone without scripts they choose to show no name, and the public file follows"):
            plain.goto(link)
            plain.get_by_role("group", name="How you are named").get_by_label("No name is shown").check()
            plain.get_by_role("button", name="Save my choices").click()
            expect(plain.get_by_role("heading", name="Done", level=1)).to_be_visible()
            expect(plain.get_by_text("You changed who can see your story")).to_be_visible()
            assert poll(lambda: (row := public_row(storybank, story)) is not None and row["storyteller"] is None, REBUILD_TIMEOUT)
            mine.reload()
            public = as_public(mine)
            expect(public).to_contain_text("No name is shown")
            check(mine, "the storyteller's page, no name")
            mine.get_by_role("link", name="Withdraw my story").click()
            check(mine, "withdraw, are you sure")

        with steps("they withdraw it without scripts, and it is gone from Datasette within 2 s"):
            plain.get_by_role("link", name="Back to my story").click()
            plain.get_by_role("link", name="Withdraw my story").click()
            clicked = time.monotonic()
            plain.get_by_role("button", name="Yes, withdraw my story").click()
            assert poll(lambda: public_row(storybank, story) is None, 2, interval=0.05), "still served 2 s after"
            took = time.monotonic() - clicked
            expect(plain.get_by_text("You withdrew your consent")).to_be_visible()
            assert phrase not in published_bytes(storybank)
            print(f"withdrawn from the storyteller's page to gone from Datasette: {took:.2f} s at {width} px")
            mine.goto(f"{app}/mine/story")
            expect(mine.get_by_text("You withdrew your consent. Nobody outside our team sees your story.")).to_be_visible()
            check(mine, "the storyteller's page, withdrawn")

        with steps("the worker is told"):
            page.goto(f"{app}/stories/")
            told = page.get_by_role("status").filter(has_text=f"{STORIES[width]} withdrew their consent")
            expect(told).to_be_visible()
            check(page, f"the worker is told, for the {width} px phone")
            told.get_by_role("button", name="Seen").click()
            expect(told).to_have_count(0)

        with steps("a guessed link and a wrong code get the plain page; the right code, typed loosely, opens it"):
            mine.goto(link[:-4] + "AAAA")
            expect(mine.get_by_role("heading", name="This link does not work")).to_be_visible()
            check(mine, "link does not work")
            mine.goto(f"{app}/mine")
            mine.get_by_label("Your short code").fill("ABCDE-FGHJK")
            mine.get_by_role("button", name="See my story").click()
            expect(mine.get_by_text("That code does not work")).to_be_visible()
            expect(mine.get_by_label("Your short code")).to_have_value("ABCDE-FGHJK")  # kept as typed
            check(mine, "short code refused")
            mine.get_by_label("Your short code").fill(code.lower().replace("-", " "))
            mine.get_by_role("button", name="See my story").click()
            expect(mine.get_by_role("heading", name="Your story", level=1)).to_be_visible()
    finally:
        worker.close()
        phone.close()
        basic.close()
    for process in storybank.processes:
        log = process.log.read_text(errors="replace")
        assert link.rsplit("/", 1)[1] not in log and code not in log, f"the {process.name}'s log holds the link or code"
