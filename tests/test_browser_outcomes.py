"""Evidence chosen in a real browser: a typed story, words selected with the mouse, and what is published.

The browser submits the typed story itself (CRLF line breaks, its own encoding), and the worker selects
words as a person does, by dragging the mouse across them. Every quote a published file holds must be
exactly the words selected, whatever comes before them (line breaks, an emoji, an accented name).
Runs at a phone's width and a laptop's; screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path

import pytest
from browser_helpers import ARTIFACTS, CHROMIUM, Steps, Storybank, launched_chromium, poll, running_demo
from test_browser import REVIEWER, WORKER, fill_consent, fill_story, log_in, log_out

from stories.demo import stand_in_form
from stories.sqlite import sqlite3

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"browser test needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(sync_playwright is None, reason="browser test needs the Python playwright package"),
]

# Paragraph 1 has what shifted offsets before: line breaks (CRLF as submitted), emoji (two UTF-16 units
# each in JavaScript, one code point in Python) and an accented name typed decomposed (e + U+0308).
PARAGRAPHS = (
    f"My name is {unicodedata.normalize('NFD', 'Zoë Brontë')} 🙂 and I am eighty-one. After my hip operation 🏥 "
    "I stopped going out, even to the shop on the corner.",
    "The befriending volunteer rings me every Tuesday.\nNow we go to the Friday group together and I have made "
    "two friends there 👵🏽 who knit.",
    "I feel less lonely. My daughter says I sound like myself again.",
)
QUOTE = "we go to the Friday group together"
JOB_TIMEOUT = 45  # s: tagging and republishing by the worker


@pytest.fixture(scope="module")
def storybank(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("evidence-browser")) as running:
        yield running


@pytest.fixture
def signed_consent_form(tmp_path) -> Path:
    """Each story's storyteller signs their own form: one person's form cannot evidence another's consent."""
    path = tmp_path / "signed-consent.pdf"
    path.write_bytes(stand_in_form(f"A consent form signed by the storyteller of {tmp_path.name}"))
    return path


@pytest.fixture
def chromium_browser():
    with launched_chromium() as chromium:
        yield chromium


def drag_select(page: Page, container: str, words: str) -> None:
    """Select `words` in the element `container` by dragging the mouse from their first letter to their last."""
    points = page.evaluate(
        """([selector, words]) => {
          const root = document.querySelector(selector);
          const nodes = [];
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          let text = "";
          while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.data; }
          const at = text.indexOf(words);
          if (at < 0) return null;
          const place = (index) => {
            const [node, offset] = nodes.filter(([, start]) => start <= index).pop();
            return [node, index - offset];
          };
          const letter = (index) => {
            const range = document.createRange();
            const [node, offset] = place(index);
            range.setStart(node, offset);
            range.setEnd(node, offset + 1);
            return range;
          };
          letter(at).startContainer.parentElement.scrollIntoView({ block: "center" });
          const first = letter(at).getBoundingClientRect();
          const last = letter(at + words.length - 1).getBoundingClientRect();
          return [first.left + 1, first.top + first.height / 2, last.right - 1, last.top + last.height / 2];
        }""",
        [container, words],
    )
    assert points, f"{words!r} is not on the page"
    x1, y1, x2, y2 = points
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x2, y2, steps=12)
    page.mouse.up()
    assert page.evaluate("document.getSelection().toString()") == words


def expect_problem_in_view(form, words: str) -> None:
    """The form's problem says `words`, beside its button, on screen, focused (so a screen reader reads it)."""
    problem = form.get_by_role("alert")
    expect(problem).to_contain_text(words)
    expect(problem).to_be_focused()
    expect(problem).to_be_in_viewport()
    expect(form.get_by_role("button", name="Add this tag")).to_be_in_viewport()


def published_evidence(storybank: Storybank, audience: str, story_id: int) -> dict[str, str]:
    path = storybank.instance / "published" / f"{audience}.db"
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT domain, evidence FROM story_outcomes WHERE story_id = ?", [story_id]).fetchall())


@pytest.mark.parametrize("width", [390, 1366])
def test_selected_words_are_the_published_evidence(storybank, signed_consent_form, chromium_browser, request, width):
    steps = Steps(chromium_browser, storybank, request.node.name)
    context = chromium_browser.new_context(viewport={"width": width, "height": 844 if width == 390 else 900})
    context.set_default_timeout(10_000)
    page = steps.watch(context.new_page())
    title = f"Friday group at {width}"

    with steps("type a story of three paragraphs into the form"):
        log_in(page, storybank.app_url, WORKER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Record a story").click()
        fill_story(page, title=title, reference=f"BF-EVIDENCE-{width}", names="Zoë Brontë; Zoë", body="\n\n".join(PARAGRAPHS))
        fill_consent(page, signed_form=signed_consent_form)
        page.get_by_role("button", name="Save story and consent").click()
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
        story_id = int(re.search(r"/stories/(\d+)$", page.url).group(1))

    with steps("press Add this tag with nothing selected"):
        outcomes = page.get_by_role("region", name="Outcomes")
        # The tagger's suggestions arrive while the page is open; it reloads itself once they are ready.
        expect(outcomes.get_by_role("status")).to_have_count(0, timeout=JOB_TIMEOUT * 1000)
        add = page.locator("#add-tag")
        add.get_by_label("Domain").select_option(label="Our relationships")
        add.get_by_label("Direction").select_option("improved")
        add.get_by_role("button", name="Add this tag").click()
        expect_problem_in_view(add, "Select the words in the story that show this outcome")
        expect(add.get_by_label("Domain")).to_have_value("relationships")  # the choice is kept
        page.screenshot(path=ARTIFACTS / f"add-tag-nothing-selected-{width}.png")

    with steps("select words in paragraph 2 with the mouse and tag them"):
        drag_select(page, "#story-text", QUOTE)
        expect(add.locator("#selected-words")).to_have_text(f"Selected: “{QUOTE}”")
        expect(add.get_by_role("alert")).to_have_count(0)  # the problem is solved: it says so by going
        add.get_by_role("button", name="Add this tag").click()
        expect(page.get_by_role("alert").filter(has_text="Tag added")).to_be_visible()

    with steps("see exactly the selected words as the tag's evidence and highlight"):
        tag = page.locator(".tag").filter(has=page.get_by_text("Our relationships", exact=True))
        expect(tag.locator("blockquote")).to_have_text(QUOTE)
        expect(page.locator('#story-text mark[title~="relationships"]')).to_have_text(QUOTE)
        preview = page.get_by_role("region", name="As it will be published")
        expect(preview.locator(".published-body p")).to_have_count(len(PARAGRAPHS))
        page.screenshot(path=ARTIFACTS / f"evidence-tagged-{width}.png", full_page=True)

    with steps("leave with a decision not saved, and be asked first"):
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))  # "Stay on this page"
        reject = page.get_by_role("list", name="Five Ways to Wellbeing").get_by_label("Reject", exact=True).first
        reject.check()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Stories").click(no_wait_after=True)
        for _ in range(50):  # waiting in the page lets its events arrive
            if asked:
                break
            page.wait_for_timeout(100)
        assert asked == ["beforeunload"]
        expect(reject).to_be_checked()
        assert f"/stories/{story_id}#" in page.url  # still on the story

    with steps("change a suggestion's direction without deciding on it, and save"):
        undecided = page.get_by_role("list", name="ONS wellbeing domains").get_by_role("listitem").filter(has_text="suggested")
        undecided = undecided.last
        domain = undecided.locator(".tag-head strong").inner_text()
        undecided.get_by_label(re.compile("^Direction")).select_option("mixed")
        page.get_by_role("button", name="Save outcome decisions").click()
        problem = page.locator("#tag-decisions").get_by_role("alert")
        expect(problem).to_contain_text(f"You chose “mixed” for {domain}: choose Accept or Reject to save it.")
        expect(problem).to_be_focused()
        expect(problem).to_be_in_viewport()
        expect(undecided.get_by_label(re.compile("^Direction"))).to_have_value("mixed")  # kept, to decide on
        expect(reject).to_be_checked()  # and so is the choice made before
        page.screenshot(path=ARTIFACTS / f"outcome-decisions-sent-back-{width}.png")
        undecided.get_by_label("Accept", exact=True).check()

    with steps("decide in both lenses and save once"):
        decisions = {domain: "Accept"}
        for lens, decision in (("Five Ways to Wellbeing", "Accept"), ("ONS wellbeing domains", "Reject")):
            suggestion = page.get_by_role("list", name=lens).get_by_role("listitem").filter(has_text="suggested").first
            decisions[suggestion.locator(".tag-head strong").inner_text()] = decision
            if decision == "Accept":  # accepting needs to know what changed: the tagger suggests no direction
                suggestion.get_by_label(re.compile("^Direction")).select_option("improved")
            suggestion.get_by_label(decision, exact=True).check()
        page.get_by_role("button", name="Save outcome decisions").click()
        saved = page.get_by_role("alert").filter(has_text="Outcome decisions saved")
        expect(saved).to_be_in_viewport()
        said = re.search(r"accepted: (.*); rejected: (.*)\)", saved.inner_text())
        assert said, saved.inner_text()
        assert set(said[1].split(", ")) == {name for name, decision in decisions.items() if decision == "Accept"}
        assert set(said[2].split(", ")) == {name for name, decision in decisions.items() if decision == "Reject"}
        for domain, decision in decisions.items():
            tag = page.locator(".tag").filter(has=page.get_by_text(domain, exact=True))
            expect(tag.locator(".status")).to_contain_text("confirmed" if decision == "Accept" else "rejected")
        page.locator("#tag-decisions").screenshot(path=ARTIFACTS / f"outcome-decisions-{width}.png")

    with steps("a reviewer signs it off"):
        log_out(page)
        log_in(page, storybank.app_url, REVIEWER)
        page.goto(f"{storybank.app_url}/stories/{story_id}")
        names = page.get_by_role("region", name="Names in what would be published")
        if names.get_by_role("button", name="Save name decisions").count():  # the region also lists the recorded names
            for person in names.get_by_role("group").all():
                person.get_by_label("Replace it with").check()
            names.get_by_role("button", name="Save name decisions").click()
        page.get_by_role("button", name="Sign off this story for publication").click()
        expect(page.get_by_role("alert").filter(has_text="Signed off")).to_be_visible()

    with steps("find exactly the selected words in the published files"):
        started = time.monotonic()
        for audience in ("public", "commissioners"):
            assert poll(lambda a=audience: "relationships" in published_evidence(storybank, a, story_id), JOB_TIMEOUT), (
                f"the story's outcome did not reach {audience}.db within {JOB_TIMEOUT} s"
            )
            assert published_evidence(storybank, audience, story_id)["relationships"] == QUOTE
        print(f"\n  published {time.monotonic() - started:.1f} s after sign-off")

    context.close()
    assert not steps.page_errors, steps.page_errors


def test_add_this_tag_without_a_script_answers_beside_the_button(storybank, chromium_browser, request):
    """Without JavaScript the server answers: the same page, the problem beside the button and focused, choices kept."""
    steps = Steps(chromium_browser, storybank, request.node.name)
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = steps.watch(context.new_page())
    with steps("press Add this tag on a phone with nothing selected"):
        log_in(page, storybank.app_url, WORKER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Stories").click()
        page.locator("table a[href*='/stories/']").first.click()
        add = page.locator("#add-tag")
        add.get_by_label("Domain").select_option(label="Health")
        add.get_by_label("Direction").select_option("mixed")
        with page.expect_response(lambda response: response.url.endswith("/tags/add")) as answer:
            add.get_by_role("button", name="Add this tag").click()
        assert answer.value.status == 422
        expect_problem_in_view(add, "Select the words in the story that show this outcome")
        expect(add.get_by_label("Domain")).to_have_value("health")
        expect(add.get_by_label("Direction")).to_have_value("mixed")
        page.screenshot(path=ARTIFACTS / "add-tag-nothing-selected-no-script-390.png")
    context.close()
