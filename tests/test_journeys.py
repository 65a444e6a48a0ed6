"""Every role's journey in real Chromium, on a 390 px phone and a 1366 px laptop, submitting the real forms.

One Storybank (app, worker, Datasette, as `storybank serve` starts them, on a demo instance) and one browser
serve the whole module. Every page reached is checked by `journey_checks.PageChecks`: axe-core finds no
serious or critical problem, nothing scrolls sideways, no id is used twice, the title is plain text and no
part of the page is missing; a screenshot of each is kept in test-artifacts/journeys/.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, Steps, Storybank, launched_chromium, running_demo
from journey_checks import Axe, PageChecks, screenshot

from stories.demo import DEMO_PASSWORD, stand_in_form

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # CI installs it; elsewhere the journeys say why they are skipped
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"journeys need Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(sync_playwright is None, reason="journeys need the Python playwright package"),
    pytest.mark.skipif(Axe is None, reason="journeys need axe-playwright-python (axe-core)"),
]

WIDTHS = (390, 1366)
TODAY = dt.date.today()
UPLOAD_LIMIT_MB = 1  # the app's recording limit here, so an over-limit file is quick to make
JOB_TIMEOUT = 45  # s: the worker republishing
# Typed into the form with its line breaks, as a worker would: the browser sends them as CRLF.
STORY = (
    "After my hip operation I stopped going out. I did not see anyone for weeks.\n\n"
    "Then the befriending volunteer started ringing on Tuesdays, and we go to the Friday group together now.\n\n"
    "I have made two friends there and I feel less lonely."
)
QUOTE = "we go to the Friday group together"


@pytest.fixture(scope="module")
def storybank(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("journeys"), settings={"STORYBANK_MAX_AUDIO_MB": str(UPLOAD_LIMIT_MB)}) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def signed_form(tmp_path, request) -> Path:
    """A signed form of this journey's own: a form on file for one storyteller is refused for another."""
    path = tmp_path / "signed-consent.pdf"
    path.write_bytes(stand_in_form(f"A consent form signed for the journey {request.node.name}"))
    return path


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def width(request) -> int:
    return request.param


@pytest.fixture
def visit(browser, storybank, width, request):
    """A fresh browser context at this width, its page checker, and the step recorder."""
    contexts = []
    steps = Steps(browser, storybank, request.node.name)
    checks = PageChecks(width)

    def open_page(*, javascript: bool = True) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": 844 if width < 800 else 900},
            java_script_enabled=javascript,
            accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return checks.watch(steps.watch(context.new_page()))

    yield open_page, checks, steps
    for context in contexts:
        context.close()
    assert not steps.page_errors, steps.page_errors


def log_in(page: Page, app: str, username: str, check: PageChecks | None = None) -> None:
    page.goto(f"{app}/auth/login")
    if check:
        check(page, "log in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def fill_story(page: Page, *, title: str, reference: str, body: str = "") -> None:
    page.get_by_label("Title").fill(title)
    if body:
        page.get_by_label("The story, in the storyteller's words").fill(body)
    page.get_by_label("Date told").fill((TODAY - dt.timedelta(days=2)).isoformat())
    page.get_by_label("Storyteller reference").fill(reference)
    page.get_by_label("Names the storyteller is known by").fill("Edna Pickles")
    page.get_by_role("group", name="Interventions that helped").get_by_label("Telephone befriending").check()


def fill_consent(page: Page, signed_form: Path) -> None:
    page.get_by_role("group", name="Who gave consent").get_by_label("The storyteller", exact=True).check()
    page.get_by_label("Storyteller's age band").select_option("65+")
    page.get_by_label("Witness (name and role)").fill("Priya Shah, befriending coordinator")
    page.get_by_role("group", name="How consent was given").get_by_label("Written consent form").check()
    page.get_by_label("Signed consent form (PDF or photo)").set_input_files(signed_form)
    page.get_by_label("Information sheet version").fill("2.1")
    audiences = page.get_by_role("group", name="Who may see this story")
    expect(audiences.get_by_label("Our team", exact=True)).to_be_checked()
    expect(audiences.get_by_label("Our team", exact=True)).to_be_disabled()  # always included
    for audience in ("Commissioners", "Board case studies", "The public"):
        audiences.get_by_label(audience, exact=True).check()
    page.get_by_role("group", name="How the storyteller is identified").get_by_label("Anonymous", exact=True).check()
    page.get_by_label("The storyteller explicitly consents to publishing details about their health").check()
    page.get_by_label("Date consent was given").fill((TODAY - dt.timedelta(days=2)).isoformat())
    page.get_by_label("Consent review date").fill((TODAY + dt.timedelta(days=365)).isoformat())


def select_words(page: Page, container: str, words: str) -> None:
    """Select these words in the element as a person would with a mouse or a finger (a DOM selection)."""
    page.wait_for_load_state("load")  # the page's scripts (deferred) listen for the selection only once they have run
    found = page.evaluate(
        """([selector, words]) => {
          const root = document.querySelector(selector);
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          let node, seen = "", nodes = [];
          while ((node = walker.nextNode())) { nodes.push([node, seen.length]); seen += node.data; }
          const at = seen.indexOf(words);
          if (at < 0) return false;
          const locate = (offset) => {
            const [hit, base] = nodes.filter(([, base]) => base <= offset).pop();
            return [hit, offset - base];
          };
          const range = document.createRange();
          range.setStart(...locate(at));
          range.setEnd(...locate(at + words.length));
          const selection = document.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          return true;
        }""",
        [container, words],
    )
    assert found, f"{words!r} is not in {container}"


def decision(page: Page, audience: str):
    return page.get_by_role("region", name="Where this story can be seen").get_by_role("listitem").filter(has_text=f"{audience}:")


def record_typed_story(page: Page, app: str, signed_form: Path, title: str, reference: str, check: PageChecks) -> int:
    """Through the real form: sent back once for a review date too far ahead, then saved. Returns the story id."""
    menu(page, "Record a story")
    check(page, "record a story")
    fill_story(page, title=title, reference=reference, body=STORY)
    fill_consent(page, signed_form)
    page.get_by_label("Consent review date").fill((TODAY + dt.timedelta(days=4 * 365)).isoformat())
    page.get_by_role("button", name="Save story and consent").click()
    expect(page.get_by_role("alert").filter(has_text="nothing you typed has been lost")).to_be_visible()
    expect(page.get_by_text("within 3 years").first).to_be_visible()
    check(page, "record a story, sent back")
    expect(page.get_by_label("The story, in the storyteller's words")).to_have_value(STORY)
    page.get_by_label("Consent review date").fill((TODAY + dt.timedelta(days=365)).isoformat())
    page.get_by_role("button", name="Save story and consent").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    return int(re.search(r"/stories/(\d+)$", page.url)[1])


def tag_by_selection(page: Page, words: str) -> None:
    select_words(page, "#story-text", words)
    expect(page.locator("#selected-words")).to_contain_text(words[:20])
    add = page.locator("#add-tag")
    add.get_by_label("Domain").select_option(label="Our relationships")
    add.get_by_label("Direction").select_option("improved")
    add.get_by_role("button", name="Add this tag").click()
    expect(page.get_by_role("alert").filter(has_text="Tag added")).to_be_visible()


def test_a_worker_records_tags_and_withdraws_a_typed_story(storybank, visit, signed_form, width):
    open_page, check, steps = visit
    app = storybank.app_url
    page = open_page()
    with steps("log in and find the stories"):
        log_in(page, app, "worker-befriend", check)
        check(page, "stories")
        search = page.get_by_label("Find")
        assert search.bounding_box()["height"] >= 40, "the search box is too small to tap"  # was 21 px
    with steps("record a typed story, sent back once"):
        story_id = record_typed_story(page, app, signed_form, f"Fridays again at {width}", f"BF-J{width}", check)
        expect(page.get_by_role("alert").filter(has_text="Story saved")).to_be_visible()
        expect(decision(page, "Our team")).to_contain_text("yes")
    with steps("tag the words that show the change by selecting them"):
        tag_by_selection(page, QUOTE)
        check(page, "story page, tagged")
        expect(page.locator(".tag").filter(has_text="Our relationships")).to_be_visible()
    with steps("look at the consent history and the consent forms"):
        page.get_by_text("Consent history (1 entry)").click()
        expect(page.get_by_text("Consent given by")).to_be_visible()
        page.get_by_role("link", name="Change or renew consent").click()
        check(page, "change consent")
        page.go_back()
        menu(page, "Consent due")
        check(page, "consent due")
        menu(page, "Exports")
        check(page, "exports, worker")
    with steps("stop publishing it, keeping it for the team"):
        page.goto(f"{app}/stories/{story_id}")
        page.get_by_role("link", name="Withdraw consent").click()
        check(page, "withdraw consent")
        page.get_by_role("group", name="What does the storyteller want?").get_by_label("Stop publishing it").check()
        page.get_by_label("Reason, for the record").fill("Storyteller asked by phone")
        page.get_by_role("button", name="Withdraw consent now").click()
        expect(page.get_by_role("alert").filter(has_text="Consent withdrawn")).to_be_visible()
        expect(decision(page, "Our team")).to_contain_text("yes — kept for our records only")
        expect(decision(page, "The public")).to_contain_text("no — consent withdrawn")
        expect(page.get_by_text("Consent history (2 entries)")).to_be_visible()
        check(page, "story page, withdrawn")


def published_evidence(storybank: Storybank, story_id: int) -> str | None:
    path = storybank.instance / "published" / "commissioners.db"
    if not path.exists():
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT evidence FROM story_outcomes WHERE story_id = ? AND domain = 'relationships'", [story_id]
        ).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize("width", [390], ids=["390px"])
def test_the_words_selected_in_a_typed_story_are_the_exact_quote_published(storybank, visit, signed_form, width):
    """The browser sends a typed story's line breaks as CRLF; the quote must still be exactly the words selected,
    in the story's tag list and in the commissioners' published file."""
    open_page, check, steps = visit
    app = storybank.app_url
    page = open_page()
    with steps("record and tag a typed story"):
        log_in(page, app, "worker-befriend")
        story_id = record_typed_story(page, app, signed_form, "The Friday group", "BF-QUOTE", check)
        tag_by_selection(page, QUOTE)
    with steps("sign it off as a reviewer"):
        page.get_by_role("button", name="Log out").click()
        log_in(page, app, "reviewer-befriend")
        page.goto(f"{app}/stories/{story_id}")
        page.get_by_role("button", name="Sign off this story for publication").click()
        expect(decision(page, "Commissioners")).to_contain_text("yes")
    deadline = time.monotonic() + JOB_TIMEOUT
    while published_evidence(storybank, story_id) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    shown = page.locator(".tag").filter(has_text="Our relationships").locator("blockquote").inner_text()
    assert shown == QUOTE, f"the story page quotes {shown!r}"
    assert published_evidence(storybank, story_id) == QUOTE


def demo_story_id(storybank: Storybank, title: str) -> int:
    with sqlite3.connect(f"file:{storybank.instance / 'storybank.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT id FROM stories WHERE title = ?", [title]).fetchone()[0]


# Told aloud in the demo, each with a transcript: one corrected per width.
TOLD_ALOUD = {390: "Sundays in Perth", 1366: "I'd forgotten I could make people laugh"}


def test_a_worker_corrects_a_transcript(storybank, visit, width):
    open_page, check, steps = visit
    app = storybank.app_url
    page = open_page()
    story_id = demo_story_id(storybank, TOLD_ALOUD[width])
    with steps("open the transcript editor"):
        log_in(page, app, "worker-befriend")
        page.goto(f"{app}/stories/{story_id}")
        page.get_by_role("link", name=re.compile("the transcript")).click()
        expect(page.get_by_role("heading", name="Check the transcript")).to_be_visible()
        check(page, "transcript editor")
        assert page.title() == f"Transcript: {TOLD_ALOUD[width]} · Storybank"
        screenshot(page, "transcript editor", width)
    with steps("every part's text is as wide as the screen allows and tall enough to edit"):
        main = page.locator("main").bounding_box()
        for part in page.locator("textarea[name=segment]").all():
            box = part.bounding_box()
            assert box["width"] >= min(main["width"] - 40, 400), f"a part's text box is {box['width']:.0f} px wide"
            assert box["height"] >= 96, f"a part's text box is {box['height']:.0f} px tall: four lines at least"
            assert part.evaluate("field => field.scrollHeight <= field.clientHeight + 2"), "a part's text is cut off"
    with steps("play a part, then correct it"):
        play = page.get_by_role("button", name=re.compile(r"^Play part 2\b"))
        play.scroll_into_view_if_needed()
        box = play.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] >= 44
        play.click()
        page.wait_for_function("() => !document.getElementById('recording').paused", timeout=5000)
        expect(page.locator("#recording")).to_be_in_viewport()  # the player stays in view to pause it
        part = page.get_by_label("Part 2", exact=True)
        part.fill(part.input_value() + " (checked)")
        page.get_by_role("button", name="Save corrections").click()
        expect(page.get_by_role("alert").filter(has_text="Corrections saved")).to_be_visible()
        expect(page.get_by_label("Part 2", exact=True)).to_have_value(re.compile(r"\(checked\)$"))


def test_an_over_limit_upload_is_stopped_before_sending_and_the_form_is_kept(storybank, visit, signed_form, width, tmp_path):
    open_page, check, steps = visit
    app = storybank.app_url
    big = tmp_path / "long-interview.wav"
    big.write_bytes(b"RIFF" + bytes(int(1.6 * 1024 * 1024)))
    page = open_page()
    with steps("the browser refuses the file before a long upload, and says why by the field"):
        log_in(page, app, "worker-befriend")
        menu(page, "Record a story")
        expect(page.locator("#recording-hint")).to_contain_text(f"at most {UPLOAD_LIMIT_MB} MB")
        page.get_by_label("Title").fill("Too long a recording")
        page.get_by_label("Upload a recording").set_input_files(big)
        message = page.locator("#recording-size-error")
        expect(message).to_have_text(re.compile(r"“long-interview\.wav” is 1\.6 MB: a recording can be at most 1 MB\."))
        expect(message).to_have_attribute("role", "alert")
        assert page.get_by_label("Upload a recording").evaluate("input => input.files.length") == 0
        expect(page.get_by_label("Title")).to_have_value("Too long a recording")
        check(page, "record a story, file too large")
        page.locator("#recording-set").scroll_into_view_if_needed()
        screenshot(page, "file too large", width)

    nojs = open_page(javascript=False)
    with steps("without JavaScript the server sends the form back, everything typed kept"):
        log_in(nojs, app, "worker-befriend")
        menu(nojs, "Record a story")
        fill_story(nojs, title=f"Sent whole at {width}", reference=f"BF-BIG{width}")
        fill_consent(nojs, signed_form)
        nojs.get_by_label("Upload a recording").set_input_files(big)
        nojs.get_by_role("button", name="Save story and consent").click()
        expect(nojs.get_by_role("alert").filter(has_text="nothing you typed has been lost")).to_be_visible()
        expect(nojs.locator("#recording-error")).to_contain_text("This recording is 1.6 MB; a recording can be at most 1 MB.")
        expect(nojs.get_by_label("Title")).to_have_value(f"Sent whole at {width}")
        expect(nojs.get_by_label("Witness (name and role)")).to_have_value("Priya Shah, befriending coordinator")
        expect(nojs.get_by_role("group", name="Who gave consent").get_by_label("The storyteller", exact=True)).to_be_checked()
        expect(nojs.get_by_text("A form is already attached to this story")).to_be_visible()
        # axe needs scripts to run: check the page the server sent, as it stands, in a page that runs them.
        sent_back = nojs.content()
        viewer = open_page()
        viewer.goto(f"{app}/auth/login")
        viewer.set_content(sent_back)
        check(viewer, "record a story, sent back for a large file")


# Reviewers with demo stories waiting for review: one signs off at each width.
REVIEWERS = {390: "reviewer-befriend", 1366: "reviewer-housing"}


def test_a_reviewer_signs_off_and_reads_the_evidence(storybank, visit, width):
    open_page, check, steps = visit
    app = storybank.app_url
    page = open_page()
    with steps("open a story waiting for review"):
        log_in(page, app, REVIEWERS[width])
        page.get_by_label("Show").select_option("submitted")
        page.get_by_role("button", name="Filter").click()
        check(page, "stories waiting for review")
        page.locator("table.stories a").first.click()
        check(page, "story page, reviewer")
    with steps("decide on names and sign it off"):
        names = page.get_by_role("region", name="Names in what would be published")
        if names.get_by_role("button", name="Save name decisions").count():  # the region also lists the recorded names
            for person in names.get_by_role("group").all():
                person.get_by_label("Replace it with").check()
            names.get_by_role("button", name="Save name decisions").click()
            expect(page.get_by_role("alert").filter(has_text="Name decisions saved")).to_be_visible()
        page.get_by_role("button", name="Sign off this story for publication").click()
        expect(page.get_by_role("alert").filter(has_text="Signed off")).to_be_visible()
        check(page, "story page, signed off")
    with steps("the evidence dashboard and Most Significant Change"):
        menu(page, "Evidence dashboard")
        check(page, "evidence dashboard, reviewer")
        menu(page, "Most Significant Change")
        check(page, "most significant change")


def test_a_commissioner_reads_the_evidence_dashboard(storybank, visit, width):
    open_page, check, steps = visit
    page = open_page()
    with steps("the dashboard, and the stories behind a count"):
        log_in(page, storybank.app_url, "commissioner")
        check(page, "evidence dashboard, commissioner")
        screenshot(page, "evidence dashboard", width)


CONTEXT = "Why this matters for our befriending contract: one call a week, and she is out of the house again."


def test_a_board_presenter_builds_and_exports_a_case_study(storybank, visit, width):
    open_page, check, steps = visit
    app = storybank.app_url
    page = open_page()
    with steps("start a case study: an empty title is sent back"):
        log_in(page, app, "presenter")
        check(page, "case studies")
        page.get_by_role("link", name="Start a case study").first.click()
        check(page, "start a case study")
        page.get_by_label("Title for the board").fill(" ")
        page.get_by_label("Context").fill(CONTEXT)
        page.get_by_role("button", name="Start the case study").click()
        expect(page.locator("#title-error")).to_contain_text("Give the case study a title for the board.")
        expect(page.get_by_label("Context")).to_have_value(CONTEXT)
        check(page, "start a case study, sent back")
        page.get_by_label("Title for the board").fill("A phone call a week")
        page.get_by_role("button", name="Start the case study").click()
        expect(page.get_by_role("heading", name="A phone call a week", level=1)).to_be_visible()
    with steps("pick a pull quote by selecting the storyteller's words"):
        words = page.locator("#published-text").inner_text().split(".")[0].strip()
        select_words(page, "#published-text", words)
        expect(page.get_by_label("Words to quote")).to_have_value(words)
        page.get_by_role("button", name="Add pull quote").click()
        expect(page.get_by_role("alert").filter(has_text="Pull quote added")).to_be_visible()
        check(page, "case study builder")
    with steps("download the Markdown and find it among the exports"):
        with page.expect_download() as download:
            page.get_by_role("button", name="Download Markdown").click()
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
        assert f"“{words}”" in markdown and "“”" not in markdown
        menu(page, "Exports")
        expect(page.get_by_role("heading", name="Copies you exported")).to_be_visible()
        expect(page.get_by_role("cell", name="Case study (Markdown)").first).to_be_visible()
        check(page, "exports, presenter")


def test_an_admin_manages_interventions(storybank, visit, width):
    open_page, check, steps = visit
    page = open_page()
    with steps("the interventions list and form"):
        log_in(page, storybank.app_url, "admin")
        menu(page, "Interventions")
        check(page, "interventions")
        page.get_by_role("link", name=re.compile("Add an intervention|New intervention")).first.click()
        check(page, "new intervention")
