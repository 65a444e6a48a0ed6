"""The storyteller's own page over HTTP, as an outsider holding (or guessing) a receipt's link or code would use it."""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
import time

import pytest

from conftest import sign_off, story_form
from pipelines.publish import run_publish
from stories import audit, storyteller_links
from stories.records import get_story, record_story
from stories.sqlite import sqlite3

SECRET_WORD = "brambleworth"


def published(instance, audience="public"):
    with sqlite3.connect(instance.published_path(audience)) as conn:
        return {row[0]: row[1:] for row in conn.execute("SELECT id, storyteller, identity_level, body FROM stories")}


@pytest.fixture
def story_id(instance, db, orgs, users, signed_form):
    body = f"My name is Margaret Holt. The {SECRET_WORD} club and Priya changed my Tuesdays. I feel like myself again."
    form = story_form(body=body, evidence_file=signed_form(), identity_level="first_name")
    new_id = record_story(db, form, organisation_id=orgs["a"], actor="t", user_id=users["worker"])
    sign_off(db, new_id, users["reviewer"])
    run_publish(instance)
    assert set(published(instance)) == {new_id}
    return new_id


def receipt(client, auth, story_id):
    """A worker gives a new receipt from the story page; returns the link's path and the short code printed on it."""
    auth.login("worker")
    page = client.post(f"/stories/{story_id}/receipt")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    auth.logout()
    link = re.search(r'class="link-text">http://localhost(/mine/[A-Za-z0-9_-]+)<', text)
    code = re.search(r'class="short-code">([A-Z0-9]{5}-[A-Z0-9]{5})<', text)
    assert link and code, text
    assert "<svg" in text  # the QR code, inline
    return link[1], code[1]


def test_the_receipt_link_opens_the_story_as_each_audience_sees_it(client, auth, instance, story_id):
    path, _ = receipt(client, auth, story_id)
    opened = client.get(path)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/mine/story")
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    page = client.get("/mine/story")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"
    # The public's words, exactly as in the published file: first name only.
    assert "Named as: Margaret" in text and "Margaret Holt" not in text.split("Your story as others see it today")[1]
    assert "Only your first name is shown" in text


def test_narrowing_takes_effect_in_the_published_files_at_once(client, auth, instance, db, story_id):
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    done = client.post("/mine/story/narrow", data={"audiences": ["commissioners", "board"], "identity_level": "anonymous"})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert story_id not in published(instance, "public")  # gone before the page came back
    page = html.unescape(client.get("/mine/story").get_data(as_text=True))
    assert "They do not see your story. (consent does not include the public)" in re.sub(r"<[^>]+>", "", page)
    assert get_story(db, story_id).consent.identity_level == "anonymous"
    assert any(e["action"] == "consent.amended" and e["actor"].startswith("storyteller:") for e in audit.entries(db, story_id))
    # What the narrower terms still allow is back, in its narrower form, by a change to this story's copies,
    # not a rebuild of every story (a minute at 100,000 stories).
    storyteller, level, _ = published(instance, "commissioners")[story_id]
    assert (storyteller, level) == (None, "anonymous")
    actions = [row[0] for row in db.execute("SELECT action FROM audit_log WHERE action LIKE 'publish%' ORDER BY id")]
    after = actions[actions.index("publish.remove") + 1 :]
    assert after and set(after) == {"publish.change"}, actions


def test_narrowing_away_the_public_leaves_the_commissioners_copy_where_it_was(client, auth, instance, db, story_id, monkeypatch):
    from pipelines.jobs import queue_for

    path, _ = receipt(client, auth, story_id)
    client.get(path)
    kept = published(instance, "commissioners")[story_id]
    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")  # no worker: what is queued waits, as under a busy one
    queue_for.cache_clear()
    try:
        done = client.post("/mine/story/narrow", data={"audiences": ["commissioners", "board"], "identity_level": "first_name"})
        assert done.status_code == 200
        assert story_id not in published(instance, "public")
        assert published(instance, "commissioners")[story_id] == kept  # never taken out (an attack saw 22 s without it)
    finally:
        queue_for.cache_clear()


def test_widening_is_refused_and_changes_nothing(client, auth, db, story_id):
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    response = client.post("/mine/story/narrow", data={"audiences": ["public"], "identity_level": "named"})
    assert response.status_code == 422
    assert "talk to your worker" in html.unescape(response.get_data(as_text=True))
    assert get_story(db, story_id).consent.identity_level == "first_name"


def test_withdrawing_on_the_page_leaves_every_published_file_and_tells_the_worker(client, auth, instance, db, story_id):
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    started = time.monotonic()
    done = client.post("/mine/story/withdraw")
    assert done.status_code == 200 and time.monotonic() - started < 2
    assert story_id not in published(instance, "public") and story_id not in published(instance, "commissioners")
    assert "You withdrew your consent" in done.get_data(as_text=True)
    auth.login("worker")
    assert "withdrew their consent" in client.get("/stories/").get_data(as_text=True)


def test_withdrawing_twice_tells_the_worker_once(client, auth, db, story_id):
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    for _ in range(3):  # a double tap, then the page sent again from the browser's history
        assert client.post("/mine/story/withdraw").status_code == 200
    notices = db.execute("SELECT action FROM storyteller_notices WHERE story_id = ? AND seen_at IS NULL", [story_id])
    assert [row[0] for row in notices] == ["withdrew"]


def test_this_is_right_is_a_member_check(client, auth, db, story_id):
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    client.post("/mine/story/right")
    auth.login("worker")
    assert "the storyteller read it on their own page" in client.get(f"/stories/{story_id}").get_data(as_text=True)


def test_the_short_code_opens_the_same_page_however_it_is_typed(client, auth, story_id):
    _, code = receipt(client, auth, story_id)
    typed = " " + code.lower().replace("-", " ") + " "
    opened = client.post("/mine", data={"code": typed})
    assert opened.status_code == 303
    assert client.get("/mine/story").status_code == 200


def test_guessed_revoked_and_replaced_links_get_the_same_page(client, auth, db, story_id):
    old_path, old_code = receipt(client, auth, story_id)
    new_path, _ = receipt(client, auth, story_id)  # a new receipt replaces the old one
    guessed = "/mine/" + secrets.token_urlsafe(32)
    pages = [client.get(path) for path in (guessed, old_path, "/mine/short")]
    assert {page.status_code for page in pages} == {404}
    assert len({page.get_data() for page in pages}) == 1
    assert client.post("/mine", data={"code": old_code}).status_code == 422
    assert client.get(new_path).status_code == 303
    # A browser that opened the old link is shut out too.
    storyteller_links.revoke(db, story_id, actor="t")
    assert client.get("/mine/story").status_code == 404


def test_a_link_past_the_consent_review_date_does_not_work(client, auth, db, story_id, monkeypatch):
    path, _ = receipt(client, auth, story_id)
    review_on = get_story(db, story_id).consent.review_on
    from stories.web import storyteller_views

    monkeypatch.setattr(storyteller_views, "today", lambda: review_on + dt.timedelta(days=1))
    assert client.get(path).status_code == 404


def test_guessing_is_throttled_per_address(client, auth, story_id):
    path, code = receipt(client, auth, story_id)
    for _ in range(storyteller_links.FAILURES_PER_ADDRESS):
        assert client.get("/mine/" + secrets.token_urlsafe(32)).status_code == 404
    assert client.get(path).status_code == 429  # even the right link, from the guesser's address
    other = client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 303  # someone elsewhere is not locked out


def test_short_codes_are_throttled_hard(client, auth, story_id):
    _, code = receipt(client, auth, story_id)
    for _ in range(storyteller_links.CODE_FAILURES_PER_ADDRESS):
        assert client.post("/mine", data={"code": "ABCDE-FGHJK"}).status_code == 422
    assert client.post("/mine", data={"code": code}).status_code == 429


def test_the_store_and_audit_log_never_hold_the_token_or_code(client, auth, instance, db, story_id):
    path, code = receipt(client, auth, story_id)
    client.get(path)
    token = path.rsplit("/", 1)[1]
    stored = b"".join(p.read_bytes() for p in instance.root.rglob("*") if p.is_file())
    assert token.encode() not in stored and code.replace("-", "").encode() not in stored


def test_the_receipt_as_a_pdf_says_what_was_agreed_with_the_link_and_code(client, auth, story_id):
    import io

    from pypdf import PdfReader

    auth.login("worker")
    text = html.unescape(client.post(f"/stories/{story_id}/receipt").get_data(as_text=True))
    token = re.search(r'name="token" value="([^"]+)"', text)[1]
    code = re.search(r'class="short-code">([A-Z0-9-]+)<', text)[1]
    response = client.post(f"/stories/{story_id}/receipt.pdf", data={"token": token, "code": code.replace("-", "")})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert code in words and "Only your first name is shown" in words and "Anyone, on our public website" in words
    assert "Befriending Network" in words  # who to contact
    assert client.post(f"/stories/{story_id}/receipt.pdf", data={"token": secrets.token_urlsafe(32)}).status_code == 410


def test_asking_for_erasure_withdraws_at_once_and_asks_the_worker_to_erase(client, auth, instance, db, story_id):
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    assert "erase" in client.get("/mine/story/erase").get_data(as_text=True)  # asked first, nothing done yet
    assert story_id in published(instance)
    done = client.post("/mine/story/erase")
    assert "You asked us to erase your story" in done.get_data(as_text=True)
    assert story_id not in published(instance) and story_id not in published(instance, "commissioners")
    assert "storyteller.asked_erasure" in {e["action"] for e in audit.entries(db, story_id)}
    auth.login("worker")
    assert "asked for their story to be erased" in client.get("/stories/").get_data(as_text=True)


def test_whoever_exported_the_story_is_asked_to_destroy_it(client, auth, db, users, story_id):
    from stories.exports import record_export

    record_export(db, story_id, user_id=users["presenter"], actor="t", kind="pdf", audience="board", consent_version=1)
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    assert "Case study (PDF)" in client.get("/mine/story").get_data(as_text=True)  # the copy is on their page
    client.post("/mine/story/withdraw")
    auth.login("presenter")
    assert "Please destroy your copy" in client.get("/exports/").get_data(as_text=True)


def test_a_guessed_link_takes_as_long_as_a_revoked_one(client, auth, db, story_id):
    """An outsider timing the answers learns nothing: a link never issued and a revoked one cost the same work."""
    revoked, _ = receipt(client, auth, story_id)
    receipt(client, auth, story_id)

    guess = "/mine/" + secrets.token_urlsafe(32)
    times: dict[str, list[float]] = {guess: [], revoked: []}
    for n in range(30):  # interleaved, so a busy machine slows both alike
        for path in times:
            started = time.perf_counter()
            # Each from its own address, so the rate limit answers none of them.
            assert client.get(path, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code == 404
            times[path].append(time.perf_counter() - started)
    guessed, old = (sorted(found)[len(found) // 2] for found in times.values())
    assert abs(guessed - old) < max(guessed, old) * 0.5, (guessed, old)


def test_a_worker_stops_a_lost_receipt_and_an_erased_story_s_link_dies_with_it(client, auth, instance, db, story_id):
    path, _ = receipt(client, auth, story_id)
    auth.login("worker")
    assert "Stop its link working" in client.get(f"/stories/{story_id}").get_data(as_text=True)
    client.post(f"/stories/{story_id}/receipt/revoke")
    auth.logout()
    assert client.get(path).status_code == 404
    path, _ = receipt(client, auth, story_id)
    auth.login("worker")
    client.post(f"/stories/{story_id}/withdraw", data={"scope": "erase", "reason": "Asked in person"})
    auth.logout()
    assert client.get(path).status_code == 404
    assert db.execute("SELECT count(*) FROM storyteller_links").fetchone()[0] == 0  # gone with the story


def test_narrowing_keeps_verbal_consent_only_in_the_recording_it_was_marked_in(client, auth, instance, db, orgs, users):
    from stories.recordings import add_recording
    from stories.records import mark_consent_time

    form = story_form(method="verbal_recording", storyteller_reference="BF-0099", storyteller_names="Olive Jones")
    story = record_story(db, form, organisation_id=orgs["a"], actor="t", user_id=users["worker"])
    for number in (1, 2):
        audio = instance.audio_dir / (str(number) * 64 + ".webm")
        audio.write_bytes(b"not played in this test")
        add_recording(db, story, audio_file=audio.name, duration=30.0, codec="opus", actor="t")
        if number == 1:
            mark_consent_time(db, story, 12.0, actor="t")
            path, _ = receipt(client, auth, story)
            client.get(path)
            client.post("/mine/story/narrow", data={"audiences": ["commissioners", "board"], "identity_level": "anonymous"})
            kept = get_story(db, story).consent
            assert (kept.evidence_time, kept.evidence_recording) == (12.0, audio.name)
    # Marked in a recording since replaced: a narrowing must not make it evidence of the new one.
    client.post("/mine/story/narrow", data={"audiences": ["commissioners"], "identity_level": "anonymous"})
    narrowed = get_story(db, story).consent
    assert narrowed.audiences == {"team", "commissioners"} and narrowed.evidence_time is None


def test_the_page_shows_nothing_of_another_story(client, auth, db, orgs, users, story_id, signed_form):
    other = story_form(title="Another person's garden", body="The zinnowquart allotment changed my summer.")
    other_id = record_story(
        db, {**other, "evidence_file": signed_form(), "storyteller_reference": "BF-0777"}, organisation_id=orgs["a"], actor="t"
    )
    path, _ = receipt(client, auth, story_id)
    client.get(path)
    page = client.get("/mine/story").get_data(as_text=True)
    assert "zinnowquart" not in page and "Another person" not in page and SECRET_WORD in page
    assert get_story(db, other_id) is not None
