"""End to end in a real browser: a worker records stories with consent, a reviewer signs one off,
the public finds it in Datasette, and it is gone from there once consent is withdrawn.

The app, a job worker and Datasette run as separate processes on free ports, exactly as
`storybank serve` starts them, against a fresh instance made with `storybank init` and `storybank demo`.
Every control is found by its label or role and accessible name, so the journey doubles as a check
that the pages are usable with a screen reader. A failing step saves full-page screenshots of every
open page, and the processes' logs, into test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from audio import speak
from browser_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Steps,
    launched_chromium,
    log_in,
    run_storybank,
    running_demo,
    slug,
)

from conftest import SIGNED_FORM, story_form
from stories.demo import DEMO_PASSWORD, stand_in_form

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # CI installs it; elsewhere the test says why it is skipped
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"browser test needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(sync_playwright is None, reason="browser test needs the Python playwright package"),
]

WORKER, REVIEWER = "worker-befriend", "reviewer-befriend"
# About ten seconds of speech. "Sam" is someone else's name: in an anonymous story a reviewer decides on it.
SPOKEN = (
    "The lunch club changed everything for me. I was lonely after my husband died. "
    "Now my friend Sam rings me every Tuesday and I feel like myself again."
)
# The reviewer's correction puts a word in the transcript that no demo story has: finding it
# in Datasette shows the reviewed transcript, not the machine's, was published.
CORRECTED_WORD = "luncheon"
JOB_TIMEOUT = 45_000  # ms: transcription, tagging and republishing by the worker

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def storybank(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def spoken_story(tmp_path_factory) -> Path:
    """A short spoken story as a browser's MediaRecorder sends it: webm/opus without a duration header."""
    return speak(SPOKEN, tmp_path_factory.mktemp("speech"), "lunch-club", fmt="webm")


@pytest.fixture(scope="module")
def signed_consent_form(tmp_path_factory) -> Path:
    """A scanned, signed consent form as a worker would pick it from their computer."""
    path = tmp_path_factory.mktemp("forms") / "signed-consent.pdf"
    path.write_bytes(SIGNED_FORM)
    return path


@pytest.fixture
def chromium_browser():
    with launched_chromium() as chromium:
        yield chromium


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Storybank")).to_be_visible()


def fill_consent(page: Page, *, evidence_time: str = "", signed_form: Path | None = None) -> None:
    """Every consent field: who, age, witness, method and evidence, sheet, audiences, identity, special category, dates.

    The evidence is the signed form when one is given, else the moment of verbal consent in the recording.
    """
    page.get_by_role("group", name="Who gave consent").get_by_label("The storyteller", exact=True).check()
    page.get_by_label("Storyteller's age band").select_option("65+")
    page.get_by_label("Witness (name and role)").fill("Priya Shah, befriending coordinator")
    how = page.get_by_role("group", name="How consent was given")
    if signed_form:
        how.get_by_label("Written consent form").check()
        page.get_by_label("Signed consent form (PDF or photo)").set_input_files(signed_form)
    else:
        how.get_by_label("Verbal, on the recording").check()
        page.get_by_label("Time in the recording where consent is given").fill(evidence_time)
    page.get_by_label("Information sheet version").fill("2.1")
    audiences = page.get_by_role("group", name="Who may see this story")
    for audience in ("Our team", "Commissioners", "Board case studies", "The public"):
        audiences.get_by_label(audience, exact=True).check()
    page.get_by_role("group", name="How the storyteller is identified").get_by_label("Anonymous", exact=True).check()
    page.get_by_label("The storyteller explicitly consents to publishing details about their health").check()
    page.get_by_label("Date consent was given").fill((TODAY - dt.timedelta(days=3)).isoformat())
    page.get_by_label("Consent review date").fill((TODAY + dt.timedelta(days=365)).isoformat())


def fill_story(page: Page, *, title: str, reference: str, names: str, body: str = "") -> None:
    page.get_by_label("Title").fill(title)
    if body:
        page.get_by_label("The story, in the storyteller's words").fill(body)
    page.get_by_label("Date told").fill((TODAY - dt.timedelta(days=3)).isoformat())
    page.get_by_label("Storyteller reference").fill(reference)
    page.get_by_label("Names the storyteller is known by").fill(names)
    interventions = page.get_by_role("group", name="Interventions that helped")
    if interventions.count():
        interventions.get_by_label("Telephone befriending").check()


def decision(page: Page, audience: str):
    """One audience's line under "Where this story can be seen"."""
    where = page.get_by_role("region", name="Where this story can be seen")
    return where.get_by_role("listitem").filter(has_text=f"{audience}:")


def test_record_review_publish_and_withdraw_in_a_browser(storybank, spoken_story, signed_consent_form, chromium_browser, request):
    browser = chromium_browser
    started = time.monotonic()
    steps = Steps(browser, storybank, request.node.name)
    app, datasette = storybank.app_url, storybank.datasette_url
    staff = browser.new_context()
    staff.set_default_timeout(10_000)
    page = steps.watch(staff.new_page())

    with steps("log in as a worker"):
        log_in(page, app, WORKER)
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Record a story")).to_be_visible()

    with steps("record a typed story with its consent"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Record a story").click()
        expect(page.get_by_role("heading", name="Record a story", level=1)).to_be_visible()
        fill_story(
            page,
            title="A reason to get dressed",
            reference="BF-BROWSER-1",
            names="Edna Pickles; Ed",
            body="After my hip operation I stopped going out. The befriending volunteer rings me on a Tuesday "
            "and now I go to the Friday group. I have made friends and I feel less lonely.",
        )
        fill_consent(page, signed_form=signed_consent_form)
        page.get_by_label("Consent review date").fill((TODAY + dt.timedelta(days=4 * 365)).isoformat())  # too far ahead
        page.get_by_role("button", name="Save story and consent").click()

    with steps("see the form sent back with the signed form kept"):
        expect(page.get_by_role("alert").filter(has_text="nothing you typed has been lost")).to_be_visible()
        expect(page.get_by_text("within 3 years").first).to_be_visible()
        expect(page.get_by_text("A form is already attached to this story")).to_be_visible()
        expect(page.get_by_label("Title")).to_have_value("A reason to get dressed")
        page.get_by_label("Consent review date").fill((TODAY + dt.timedelta(days=365)).isoformat())
        page.get_by_role("button", name="Save story and consent").click()  # no need to choose the form again
        expect(page.get_by_role("heading", name="A reason to get dressed", level=1)).to_be_visible()
        expect(page.get_by_role("alert").filter(has_text="Story saved")).to_be_visible()

    with steps("see where the typed story can be seen"):
        expect(page.get_by_role("heading", name="Where this story can be seen")).to_be_visible()
        expect(decision(page, "Our team")).to_contain_text("yes")
        for audience in ("Commissioners", "Board case studies", "The public"):
            expect(decision(page, audience)).to_contain_text("no — not yet signed off by a reviewer")
        facts = page.get_by_role("region", name="Consent").get_by_role("definition")
        for fact in (
            "The storyteller (age 65+), witnessed by Priya Shah",
            "Written consent form, signed form on file",
            "version 2.1",
            "Our team, Commissioners, Board case studies, The public",
            "Anonymous",
            "explicitly consented",
            (TODAY - dt.timedelta(days=3)).isoformat(),
            (TODAY + dt.timedelta(days=365)).isoformat(),
        ):
            expect(facts.filter(has_text=fact)).to_have_count(1)

    with steps("upload a spoken story"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Record a story").click()
        fill_story(page, title="Someone rings on a Tuesday", reference="BF-BROWSER-2", names="Margaret Holt; Maggie")
        page.get_by_label("Upload a recording").set_input_files(spoken_story)
        fill_consent(page, evidence_time="0:01")
        page.get_by_role("button", name="Save story and consent").click()
        expect(page.get_by_role("heading", name="Someone rings on a Tuesday", level=1)).to_be_visible()
        story_url = page.url
        assert re.search(r"/stories/\d+$", story_url), story_url

    with steps("watch the transcription finish without reloading"):
        recording = page.get_by_role("region", name="Recording")
        job = recording.get_by_role("status")
        expect(job).to_be_visible()
        first_state = job.get_attribute("data-state")
        reloads = []  # navigations committed from here on (not "load" events: the first page's may still be due)
        page.on("framenavigated", lambda frame: frame == page.main_frame and reloads.append(frame.url))
        # The page follows /stories/<id>/status.json and reloads itself once the job is done: no reload here.
        expect(recording.get_by_role("link", name="Check and correct the transcript")).to_be_visible(timeout=JOB_TIMEOUT)
        expect(job).to_have_text("Transcribed.")
        if first_state in ("queued", "running"):
            assert reloads == [story_url], f"the page should have reloaded itself once, not {reloads}"
        print(f"\n  the transcription job was {first_state!r} when the story page first showed")

    with steps("correct and review the transcript"):
        recording.get_by_role("link", name="Check and correct the transcript").click()
        expect(page.get_by_role("heading", name="Check the transcript")).to_be_visible()
        first_part = page.get_by_label("Part 1", exact=True)
        heard = first_part.input_value()
        assert "club" in heard.lower(), f"the recogniser heard {heard!r}"
        corrected = re.sub(r"\b\w+ club\b", f"{CORRECTED_WORD} club", heard, count=1, flags=re.IGNORECASE)
        first_part.fill(corrected)
        page.get_by_role("button", name="I have listened and checked it: mark reviewed").click()
        expect(page.get_by_role("alert").filter(has_text="Transcript reviewed")).to_be_visible()
        told = page.get_by_role("article", name="The story as recorded")
        expect(told).to_contain_text(f"{CORRECTED_WORD} club")
        told_text = told.inner_text()

    with steps("accept the suggested outcome tags"):
        outcomes = page.get_by_role("region", name="Outcomes")
        # Tagging runs on the worker once the transcript is reviewed. While it runs the section shows its status
        # and the page follows it, reloading itself when the suggestions are ready; then the status is gone.
        expect(outcomes.get_by_role("status")).to_have_count(0, timeout=JOB_TIMEOUT)
        for direction in outcomes.get_by_label(re.compile("^Direction")).all():
            if not direction.input_value():  # the tagger asks "What changed?": the worker who heard it says
                direction.select_option("improved")
        for accept in outcomes.get_by_label("Accept", exact=True).all():  # both lenses, in the one decisions form
            accept.check()
        outcomes.get_by_role("button", name="Save outcome decisions").click()
        expect(page.get_by_role("alert").filter(has_text="Outcome decisions saved")).to_be_visible()
        tag_states = outcomes.get_by_role("listitem").locator(".status")
        expect(tag_states.filter(has_text="suggested")).to_have_count(0)
        assert tag_states.filter(has_text="confirmed").count() > 0

    with steps("log in as a reviewer and open the spoken story"):
        log_out(page)
        log_in(page, app, REVIEWER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Stories").click()
        page.get_by_role("link", name="Someone rings on a Tuesday").click()
        expect(page.get_by_role("heading", name="Someone rings on a Tuesday", level=1)).to_be_visible()

    with steps("decide on other people's names"):
        names = page.get_by_role("region", name="Names in what would be published")
        if re.search(r"\bSam\b", told_text):  # the recogniser heard the name: a reviewer must decide on it
            expect(names.get_by_role("group", name=re.compile(r"^Sam\b"))).to_be_visible()
        if names.count():
            for person in names.get_by_role("group").all():
                person.get_by_label("Replace it with").check()
            names.get_by_role("button", name="Save name decisions").click()
            expect(page.get_by_role("alert").filter(has_text="Name decisions saved")).to_be_visible()
            expect(page.get_by_text("needs a decision")).to_have_count(0)

    with steps("sign the story off for publication"):
        page.get_by_role("button", name="Sign off this story for publication").click()
        expect(page.get_by_role("alert").filter(has_text="Signed off")).to_be_visible()
        expect(decision(page, "The public")).to_contain_text("yes")
        expect(decision(page, "Commissioners")).to_contain_text("yes")

    public = browser.new_context()  # a member of the public: no login cookie
    public.set_default_timeout(10_000)
    reader = steps.watch(public.new_page())
    search = f"{datasette}/public/stories?_search={CORRECTED_WORD}"

    with steps("find the story in Datasette's public database"):
        # Datasette lists the stories as stories (templates/datasette/storybank/story_cards.html): one list item each.
        title = reader.get_by_role("heading", name="Someone rings on a Tuesday", exact=True)
        found = reader.locator(".sb-card").filter(has=title)
        deadline = time.monotonic() + JOB_TIMEOUT / 1000
        reader.goto(search)
        while not found.count() and time.monotonic() < deadline:  # the worker republishes in the background
            reader.wait_for_timeout(500)
            reader.reload()
        expect(found).to_be_visible()
        row = found
        expect(row).to_contain_text(CORRECTED_WORD)
        for private in ("Sam", "Margaret", "Holt", "Maggie"):
            expect(row).not_to_contain_text(re.compile(rf"\b{private}\b"))

    with steps("withdraw consent from the story page"):
        page.goto(story_url)
        page.get_by_role("link", name="Withdraw consent").click()
        expect(page.get_by_role("heading", name="Withdraw consent", level=1)).to_be_visible()
        page.get_by_role("group", name="What does the storyteller want?").get_by_label("Stop publishing it").check()
        page.get_by_label("Reason, for the record").fill("Storyteller asked by phone")
        page.get_by_role("button", name="Withdraw consent now").click()
        expect(page.get_by_role("alert").filter(has_text="Consent withdrawn")).to_be_visible()
        expect(decision(page, "The public")).to_contain_text("no — consent withdrawn")

    with steps("see the story gone from Datasette"):
        reader.reload()  # withdrawal republishes at once, before the page above was shown
        expect(reader.get_by_role("heading", name="Someone rings on a Tuesday", exact=True)).to_have_count(0)
        expect(reader.locator(".sb-card").filter(has_text=CORRECTED_WORD)).to_have_count(0)
        expect(reader.get_by_role("heading", level=3).filter(has_text="0 rows")).to_be_visible()

    assert not steps.page_errors, steps.page_errors
    print("  " + "\n  ".join(f"{seconds:5.1f} s  {name}" for name, seconds in steps.timings))
    print(f"  browser journey {time.monotonic() - started:.1f} s")


@pytest.mark.whisper  # the worker transcribes what the fake microphone said
def test_a_story_recorded_in_the_browser_is_transcribed(storybank, tmp_path, request):
    """MediaRecorder for real: Chromium's fake microphone plays spoken words into the recorder."""
    microphone = speak(SPOKEN, tmp_path, "microphone", fmt="wav")
    fake_media = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *fake_media])
        steps = Steps(browser, storybank, request.node.name)
        try:
            context = browser.new_context(permissions=["microphone"])
            context.set_default_timeout(10_000)
            page = steps.watch(context.new_page())
            with steps("record with pause and resume"):
                log_in(page, storybank.app_url, WORKER)
                page.goto(f"{storybank.app_url}/stories/new")
                recorder = page.get_by_role("group", name="Typed or recorded?")
                recorder.get_by_role("button", name="● Record").click()
                expect(recorder.get_by_role("button", name="Pause")).to_be_enabled()
                page.wait_for_timeout(2500)
                recorder.get_by_role("button", name="Pause").click()
                expect(recorder.get_by_role("status")).to_have_text("Paused.")
                recorder.get_by_role("button", name="Resume").click()
                page.wait_for_timeout(3500)
                recorder.get_by_role("button", name="Stop").click()
                expect(recorder.get_by_role("status")).to_contain_text("Recorded 0:0")
                assert page.locator("#recording").evaluate("input => input.files.length") == 1
            with steps("save it and watch it transcribed"):
                fill_story(page, title="Recorded on a laptop", reference="BF-MIC-1", names="Edna Pickles")
                fill_consent(page, evidence_time="0:02")
                page.get_by_role("button", name="Save story and consent").click()
                recording = page.get_by_role("region", name="Recording")
                expect(recording.get_by_role("link", name="Check and correct the transcript")).to_be_visible(timeout=JOB_TIMEOUT)
                page.get_by_role("link", name="Check and correct the transcript").click()
                words = " ".join(page.locator("textarea[name=segment]").evaluate_all("fields => fields.map(f => f.value)"))
                assert words.strip(), "the recording was transcribed to nothing"
        finally:
            browser.close()


def test_a_throttled_login_says_when_to_try_again_the_same_for_any_username(storybank, chromium_browser, request):
    """Wrong passwords typed into the real form, at a laptop's and a phone's width; screenshots kept in test-artifacts/."""
    folder = ARTIFACTS / "login-throttled"
    folder.mkdir(parents=True, exist_ok=True)
    steps = Steps(chromium_browser, storybank, request.node.name)
    shown = {}
    for username, width in (("admin", 1366), ("nobody-by-this-name", 390)):
        context = chromium_browser.new_context(viewport={"width": width, "height": 800})
        context.set_default_timeout(10_000)
        page = steps.watch(context.new_page())
        with steps(f"{username} at {width} px"):
            for attempt in range(5):
                page.goto(f"{storybank.app_url}/auth/login")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(f"not the password {attempt}")
                page.get_by_role("button", name="Log in").click()
            alert = page.get_by_role("alert")
            expect(alert).to_have_text(
                re.compile(r"Too many failed attempts to log in from here\. Please try again in 1[45] minutes\.")
            )
            expect(page.get_by_label("Username")).to_have_value(username)  # what was typed is kept
            shown[username] = alert.inner_text()
            page.screenshot(path=str(folder / f"{slug(username)}-{width}.png"), full_page=True)
            # Even the right password is refused from here until the wait is over.
            if username == "admin":
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_role("alert")).to_contain_text("Please try again in")
                page.set_viewport_size({"width": 390, "height": 800})
                page.screenshot(path=str(folder / "admin-right-password-390.png"), full_page=True)
        context.close()
    assert shown["admin"] == shown["nobody-by-this-name"]


# Someone else's full name, a nickname and a street address, in a first-name story (issue 12).
NAMED_OTHERS = (
    "My name is Margaret Holt. My neighbour Janet Pryce got me to ring the service, and Steven Barraclough "
    "from the council sorted the repairs at 14 Elm Street. Now Priya rings every Tuesday and I feel like myself again."
)


def test_a_reviewer_decides_every_name_on_a_phone_and_a_laptop(storybank, chromium_browser, request, tmp_path):
    """The names panel lists each name with the text it is in, and works at 390 px as at 1366 px."""
    row = story_form(
        title="A neighbour got me to ring", body=NAMED_OTHERS, identity_level="first_name", storyteller_reference="BF-0990"
    )
    row["audiences"] = ";".join(row["audiences"])
    (tmp_path / "signed-consent.pdf").write_bytes(stand_in_form("The consent form BF-0990 signed"))  # their own
    row["evidence_path"] = "signed-consent.pdf"
    path = tmp_path / "story.jsonl"
    path.write_text(json.dumps(row) + "\n")
    run_storybank(["import", str(path), "--organisation", "aireside-befriending"], storybank.env)
    steps = Steps(chromium_browser, storybank, request.node.name)
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((390, 844), (1366, 900)):
        context = chromium_browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        page = steps.watch(context.new_page())
        with steps(f"open the story at {width} px"):
            log_in(page, storybank.app_url, REVIEWER)
            page.goto(f"{storybank.app_url}/stories/?q=neighbour")
            page.get_by_role("link", name="A neighbour got me to ring").click()
            names = page.get_by_role("region", name="Names in what would be published")
            janet = names.get_by_role("group", name=re.compile(r"^Janet Pryce"))
            expect(janet).to_be_visible()
            expect(janet).to_contain_text("In: Story")
            expect(names.get_by_role("group", name=re.compile(r"^14 Elm Street"))).to_be_visible()
            expect(names.get_by_role("group", name=re.compile(r"^Margaret"))).to_have_count(0)  # the storyteller's own
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing off the side of a phone
        if width == 390:
            with steps("decide on every name from a phone, then sign off"):
                expect(names).to_contain_text("still need a decision")
                for person in names.get_by_role("group").all():
                    person.get_by_label("Keep it").check()
                janet.get_by_label("Replace it with").check()
                janet.get_by_label("Placeholder for Janet Pryce").fill("[my neighbour]")
                names.get_by_role("group", name=re.compile(r"^14 Elm Street")).get_by_label("Replace it with").check()
                names.get_by_role("button", name="Save name decisions").click()
                expect(page.get_by_role("alert").filter(has_text="Name decisions saved")).to_be_visible()
                expect(page.get_by_text("needs a decision")).to_have_count(0)
                page.get_by_role("button", name="Sign off this story for publication").click()
                expect(decision(page, "The public")).to_contain_text("yes")
                preview = page.get_by_role("region", name="As it will be published")
                expect(preview).to_contain_text("[my neighbour] got me to ring")
                expect(preview).not_to_contain_text("Janet")
        panel = page.get_by_role("region", name="Names in what would be published")
        panel.screenshot(path=ARTIFACTS / f"names-panel-{width}.png")
        page.screenshot(path=ARTIFACTS / f"names-story-{width}.png", full_page=True)
        context.close()
    assert not steps.page_errors, steps.page_errors


@pytest.mark.parametrize("width", [390, 1366])
def test_a_signed_form_borrowed_with_a_byte_changed_is_refused_in_the_browser(
    storybank, chromium_browser, request, tmp_path, width
):
    """Found from outside: Olive's PDF with b"\\n%x\\n" added was taken as another storyteller's signed form."""
    steps = Steps(chromium_browser, storybank, request.node.name)
    shots = ARTIFACTS / "borrowed-form"
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium_browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = steps.watch(context.new_page())
    olives = tmp_path / "olive-signed.pdf"
    olives.write_bytes(stand_in_form(f"The consent form Olive Jones signed, seen at {width} px"))
    borrowed = tmp_path / "kevin-signed.pdf"
    borrowed.write_bytes(olives.read_bytes() + b"\n%x\n")
    body = "The befriending volunteer rings me on a Tuesday and now I go to the Friday group."
    with steps("record Olive's story with her signed form"):
        log_in(page, storybank.app_url, WORKER)
        page.goto(f"{storybank.app_url}/stories/new")
        fill_story(page, title=f"Olive at {width}", reference=f"AT-0030-{width}", names="Olive Jones", body=body)
        fill_consent(page, signed_form=olives)
        page.get_by_role("button", name="Save story and consent").click()
        expect(page.get_by_role("alert").filter(has_text="Story saved")).to_be_visible()
    for reference, names, message in (
        (f"AT-0031-{width}", "Olive Jones", "already on file as another storyteller"),
        (f"AT-0030-{width}", "Kevin Pritchard", "under other names, none of them these"),
    ):
        with steps(f"send her form, one line longer, as {reference}'s ({names})"):
            page.goto(f"{storybank.app_url}/stories/new")
            fill_story(page, title=f"{names} at {width}", reference=reference, names=names, body=body)
            fill_consent(page, signed_form=borrowed)
            page.get_by_role("button", name="Save story and consent").click()
            expect(page.get_by_role("alert").filter(has_text="nothing you typed has been lost")).to_be_visible()
            expect(page.locator("#evidence_file-error")).to_contain_text(message)
            expect(page.get_by_label("Title")).to_have_value(f"{names} at {width}")
            expect(page.get_by_label("Names the storyteller is known by")).to_have_value(names)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(shots / f"refused-{slug(names)}-{width}.png"), full_page=True)
    with steps("ask Datasette about a number past SQLite's integers"):
        response = page.goto(f"{storybank.datasette_url}/public/stories?id__gt=99999999999999999999999")
        assert response.status == 400
        expect(page.get_by_text("too large to compare")).to_be_visible()
        page.screenshot(path=str(shots / f"datasette-400-{width}.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("width", [390, 1366])
def test_a_signed_picture_put_in_a_pdf_or_turned_is_refused_in_the_browser(storybank, chromium_browser, request, tmp_path, width):
    """Found from outside: Olive's form as a PNG, then in a PDF (as a scanner app makes it) or turned, was Kevin's."""
    from PIL import Image, ImageDraw

    steps = Steps(chromium_browser, storybank, request.node.name)
    shots = ARTIFACTS / "picture-form"
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium_browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = steps.watch(context.new_page())
    scan = Image.new("RGB", (620, 880), "white")
    ImageDraw.Draw(scan).text((60, 700), f"Olive Jones signed this at {width} px", fill="navy")
    for line in range(20):
        ImageDraw.Draw(scan).line((40, 60 + 30 * line, 500, 60 + 30 * line), fill="black")
    olives = tmp_path / "formB.png"
    scan.save(olives)
    in_pdf = tmp_path / "inpdf.pdf"
    Image.open(olives).convert("RGB").save(in_pdf, resolution=300)
    turned = tmp_path / "turned.png"
    scan.rotate(90, expand=True).convert("L").save(turned)
    body = "The befriending volunteer rings me on a Tuesday and now I go to the Friday group."
    with steps("record Olive's story with her signed form, a PNG"):
        log_in(page, storybank.app_url, WORKER)
        page.goto(f"{storybank.app_url}/stories/new")
        fill_story(page, title=f"Olive's picture at {width}", reference=f"OJ-1-{width}", names="Olive Jones", body=body)
        fill_consent(page, signed_form=olives)
        page.get_by_role("button", name="Save story and consent").click()
        expect(page.get_by_role("alert").filter(has_text="Story saved")).to_be_visible()
    for form in (in_pdf, turned):
        with steps(f"send the same picture as {form.name} for Kevin Pritchard"):
            page.goto(f"{storybank.app_url}/stories/new")
            fill_story(page, title=f"Kevin at {width}", reference=f"KP-9-{width}", names="Kevin Pritchard", body=body)
            fill_consent(page, signed_form=form)
            page.get_by_role("button", name="Save story and consent").click()
            expect(page.get_by_role("alert").filter(has_text="nothing you typed has been lost")).to_be_visible()
            expect(page.locator("#evidence_file-error")).to_contain_text("already on file as another storyteller")
            expect(page.get_by_label("Title")).to_have_value(f"Kevin at {width}")
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(shots / f"refused-{form.stem}-{width}.png"), full_page=True)
    context.close()
    assert not steps.page_errors, steps.page_errors
