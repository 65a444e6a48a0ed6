"""Text as it is stored, and offsets into it: what a browser shows is what the store holds, however it arrived."""

from __future__ import annotations

import json
import unicodedata
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import story_form, with_signed_form
from stories import migrations
from stories.db import connect
from stories.importer import import_stories
from stories.recordings import add_recording, correct_transcript, get_transcript, save_transcript
from stories.records import record_story
from stories.text import clean, clean_with_offsets, find_words, paragraphs, selected_span

NFD_NAME = unicodedata.normalize("NFD", "Zoë Brontë")
# What a browser submits for a story typed in three paragraphs: CRLF line breaks.
TYPED = f"My name is {NFD_NAME} 🙂 and I am 81.\r\n\r\nNow we go to the Friday group together.\r\n\r\nI feel less lonely."
STORED = "My name is Zoë Brontë 🙂 and I am 81.\n\nNow we go to the Friday group together.\n\nI feel less lonely."


def test_cleaning_makes_the_text_a_browser_page_shows():
    assert clean(TYPED) == STORED
    assert clean("one\rtwo\r\nthree\nfour") == "one\ntwo\nthree\nfour"
    assert clean("nul\0l") == "null"
    assert clean("  kept as it is  ") == "  kept as it is  "  # stripping is the fields' business


# Characters that change when cleaned, and ones that do not, in any order.
PIECES = st.sampled_from(["a", "e", " ", "\n", "\r", "\r\n", "\0", "\u0308", "\u0301", "é", "🙂", "ä", "\u1100", "\u1161"])


@given(st.lists(PIECES, max_size=30).map("".join), st.integers(0, 40), st.integers(0, 40))
def test_a_span_moves_with_the_text_it_points_into(value, a, b):
    a, b = sorted((min(a, len(value)), min(b, len(value))))
    cleaned = clean_with_offsets(value)
    assert cleaned.text == clean(value)
    start, end = cleaned.span(a, b)
    assert 0 <= start <= end <= len(cleaned.text)
    # Cut between characters (not inside a CRLF, not before a combining mark), where cleaning joins nothing
    # across the cut: the span holds exactly what its old words became.
    if _between_characters(value, a) and _between_characters(value, b):
        if clean(value[:a]) + clean(value[a:b]) + clean(value[b:]) == cleaned.text:
            assert cleaned.text[start:end] == clean(value[a:b])


def _between_characters(value: str, at: int) -> bool:
    return at == len(value) or not (unicodedata.combining(value[at]) or value[at - 1 : at + 1] == "\r\n")


def test_offsets_a_page_counted_in_utf_16_find_the_words_it_showed():
    """Before offsets were defined once, the page counted UTF-16 units on the text with LF line breaks."""
    shown = TYPED.replace("\r\n", "\n")  # as the page showed it: decomposed letters still two characters
    quote = "we go to the Friday group together"
    utf16_start = len(shown[: shown.index(quote)].encode("utf-16-le")) // 2
    cleaned = clean_with_offsets(TYPED)
    start, end = cleaned.span_from_page(utf16_start, utf16_start + len(quote))
    assert cleaned.text[start:end] == quote


def test_a_selection_is_checked_against_the_words_the_page_showed():
    quote = "the Friday group"
    at = STORED.index(quote)
    assert selected_span(STORED, at, at + len(quote), quote) == (at, at + len(quote))
    assert selected_span(STORED, at - 1, at + len(quote) + 1, f" {quote} ") == (at, at + len(quote))  # trimmed
    assert selected_span(STORED, 3, 3 + len(quote), quote) == (at, at + len(quote))  # stale offsets: found by words
    assert selected_span(STORED, at, at + len(quote), "words the story does not have") is None
    assert selected_span(STORED, None, None, "") is None
    assert selected_span(STORED, at, at + len(quote), "") == (at, at + len(quote))  # offsets alone, as before


def test_words_copied_with_other_whitespace_are_found_nearest_where_they_were_selected():
    text = "I go to the group.\n\nThen I go\nto the group again."
    assert find_words(text, "I go to the group") == (0, 17)
    assert find_words(text, "I go to the group", near=25) == (25, 42)
    assert find_words(text, "I go\r\nto the group", near=25) == (25, 42)
    assert find_words(text, "   ") is None


def test_paragraphs_are_split_at_blank_lines_and_keep_their_own_line_breaks():
    assert paragraphs("One.\n\nTwo,\nstill two.\n \n\n\nThree.") == ["One.", "Two,\nstill two.", "Three."]


def test_a_story_typed_in_a_browser_is_stored_as_the_page_will_show_it(client, auth, db):
    auth.login("worker")
    form = with_signed_form(story_form(body=TYPED, title=f"{NFD_NAME}\r\n", storyteller_names=NFD_NAME))
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    title, body, names = db.execute("SELECT title, body, storyteller_names FROM stories").fetchone()
    assert (title, body, json.loads(names)) == ("Zoë Brontë", STORED, ["Zoë Brontë"])


def test_an_imported_story_is_stored_as_the_page_will_show_it(db, orgs, instance, tmp_path):
    row = story_form(body=TYPED)
    row["audiences"] = "team"
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps(row) + "\n")
    import_stories(db, path, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir)
    assert db.execute("SELECT body FROM stories").fetchone()[0] == STORED


def test_a_transcript_is_stored_as_the_page_will_show_it(db, orgs, instance):
    story_id = record_story(db, story_form(body=""), organisation_id=orgs["a"], actor="t", source="audio")
    recording_id = add_recording(db, story_id, audio_file="a.wav", duration=9.0, codec="pcm", actor="t")
    save_transcript(
        db, story_id, recording_id, segments=[{"start": 0, "end": 9, "text": f" {NFD_NAME}\0 "}], language="en", model="m"
    )
    assert get_transcript(db, story_id)["segments"][0]["text"] == "Zoë Brontë"
    correct_transcript(db, story_id, [f"{NFD_NAME}\r\nagain"], actor="t", reviewed=True)
    assert db.execute("SELECT body FROM stories WHERE id = ?", [story_id]).fetchone()[0] == "Zoë Brontë again"


@pytest.fixture
def store_before_m011(tmp_path):
    """A working store as it was before m011: migrated up to it, then a typed story stored with CRLF."""
    db = connect(tmp_path / "before.db")
    with mock.patch.object(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if not m[0].startswith("m011_")]):
        migrations.migrate(db)
    db.execute("INSERT INTO organisations (id, slug, name, created_at) VALUES (1, 'o', 'O', 'now')")
    db.execute(
        "INSERT INTO users (id, username, display_name, password_hash, role, organisation_id, created_at)"
        " VALUES (1, 'r', 'R', 'x', 'reviewer', 1, 'now')"
    )
    db.execute(
        "INSERT INTO storytellers (id, organisation_id, reference, pseudonym_seed, created_at) VALUES (1, 1, 'R', 's', 'now')"
    )
    db.execute(
        "INSERT INTO stories (id, organisation_id, storyteller_id, title, body, told_on, status, approved_by, created_at,"
        " updated_at) VALUES (1, 1, 1, 'Friday', ?, '2026-01-01', 'approved', 1, 'now', 'now')",
        [TYPED],
    )
    return db


def test_stored_text_and_every_span_into_it_are_cleaned_without_sending_the_story_back(store_before_m011):
    db = store_before_m011
    lonely = TYPED.index("I feel less lonely.")  # the tagger's offsets: Python's, into the text as stored
    db.execute(
        'INSERT INTO outcome_tags (id, story_id, framework, framework_version, domain, direction, start, "end", evidence,'
        " origin, status, created_at) VALUES (1, 1, 'ons-wellbeing', 'v', 'personal_wellbeing', 'improved', ?, ?, ?,"
        " 'machine', 'confirmed', 'now')",
        [lonely, lonely + 19, "I feel less lonely."],
    )
    # A tag added on the page before this fix: the page's offsets (UTF-16 units of the text with LF), and the
    # wrong words, cut from the CRLF text at those offsets.
    shown, quote = TYPED.replace("\r\n", "\n"), "we go to the Friday group together"
    page_start = len(shown[: shown.index(quote)].encode("utf-16-le")) // 2
    db.execute(
        'INSERT INTO outcome_tags (id, story_id, framework, framework_version, domain, direction, start, "end", evidence,'
        " origin, status, created_at) VALUES (2, 1, 'ons-wellbeing', '', 'relationships', 'improved', ?, ?, ?, 'person',"
        " 'confirmed', 'now')",
        [page_start, page_start + len(quote), TYPED[page_start : page_start + len(quote)]],
    )
    db.execute(
        "INSERT INTO audit_log (at, actor, action, story_id, detail) VALUES ('now', 'user:w', 'story.tag_added', 1, ?)",
        [json.dumps({"tag_id": 2})],
    )
    assert db.execute("SELECT evidence FROM outcome_tags WHERE id = 2").fetchone()[0] != quote  # the damage, as stored
    db.execute(
        "INSERT INTO case_studies (id, story_id, created_by, title, context, quotes, created_at, updated_at)"
        " VALUES (1, 1, 1, 'Case', 'Two\r\nlines', ?, 'now', 'now')",
        [json.dumps([{"start": lonely, "end": lonely + 19, "text": "I feel less lonely."}])],
    )
    # Pull quotes point into the published text, which the stored version holds (here, the words as typed).
    db.execute("INSERT INTO published_versions (story_id, key, version) VALUES (1, 'k', ?)", [json.dumps({"body": TYPED})])

    assert migrations.migrate(db) == ["m011_clean_stored_text"]

    body, status = db.execute("SELECT body, status FROM stories WHERE id = 1").fetchone()
    assert (body, status) == (STORED, "approved")  # the same words: the sign-off stands
    for tag_id, expected in ((1, "I feel less lonely."), (2, quote)):
        start, end, evidence = db.execute('SELECT start, "end", evidence FROM outcome_tags WHERE id = ?', [tag_id]).fetchone()
        assert body[start:end] == evidence == expected
    context, quotes = db.execute("SELECT context, quotes FROM case_studies").fetchone()
    assert context == "Two\nlines"
    [moved] = json.loads(quotes)
    assert body[moved["start"] : moved["end"]] == moved["text"] == "I feel less lonely."
    # The back-to-review triggers are back: a real change to the words still needs a new sign-off.
    db.execute("UPDATE stories SET body = body || ' More.' WHERE id = 1")
    assert db.execute("SELECT status FROM stories WHERE id = 1").fetchone()[0] == "submitted"


# Issue 12, third attack: "Ho\x85lt" was stored and published as written, and drawn "Ho▯lt" or "Holt".
OTHER_BREAKS = ("\v", "\f", "\x85", "\u2028", "\u2029")


def test_every_kind_of_line_break_is_stored_as_lf_one_character_for_one():
    for char in OTHER_BREAKS:
        value = f"Margaret Ho{char}lt, 🙂 e\u0301{char}end"
        assert clean(value) == "Margaret Ho\nlt, 🙂 é\nend", repr(char)
        cleaned = clean_with_offsets(value)
        assert cleaned.text == clean(value)
        assert cleaned.span(9, 14) == (9, 14)  # no offset before an accent moves


def test_a_story_typed_with_a_form_feed_is_stored_with_a_line_break(client, auth, db):
    auth.login("worker")
    form = with_signed_form(story_form(body="Page one.\fPage two.\x85Line\u2028three."))
    assert client.post("/stories/new", data=form, content_type="multipart/form-data").status_code == 302
    assert db.execute("SELECT body FROM stories").fetchone()[0] == "Page one.\nPage two.\nLine\nthree."


@pytest.fixture
def store_before_m016(tmp_path):
    """A working store as it was before m016_names4: a signed-off story holding a form feed and a NEL."""
    db = connect(tmp_path / "before.db")
    without = [m for m in migrations.MIGRATIONS if not m[0].startswith("m016_names4")]
    with mock.patch.object(migrations, "MIGRATIONS", without):
        migrations.migrate(db)
    db.execute("INSERT INTO organisations (id, slug, name, created_at) VALUES (1, 'o', 'O', 'now')")
    db.execute(
        "INSERT INTO users (id, username, display_name, password_hash, role, organisation_id, created_at)"
        " VALUES (1, 'r', 'R', 'x', 'reviewer', 1, 'now')"
    )
    db.execute(
        "INSERT INTO storytellers (id, organisation_id, reference, pseudonym_seed, created_at) VALUES (1, 1, 'R', 's', 'now')"
    )
    db.execute(
        "INSERT INTO stories (id, organisation_id, storyteller_id, title, body, told_on, status, approved_by, created_at,"
        " updated_at) VALUES (1, 1, 1, 'Page\fone', ?, '2026-01-01', 'approved', 1, 'now', 'now')",
        ["I am Ho\x85lt.\fI feel less lonely."],
    )
    return db


def test_line_breaks_stored_before_are_lf_without_sending_the_story_back(store_before_m016):
    db = store_before_m016
    db.execute(
        'INSERT INTO outcome_tags (id, story_id, framework, framework_version, domain, direction, start, "end", evidence,'
        " origin, status, created_at) VALUES (1, 1, 'ons-wellbeing', 'v', 'personal_wellbeing', 'improved', 5, 18,"
        " ?, 'machine', 'confirmed', 'now')",
        ["Ho\x85lt.\fI feel"],
    )
    db.execute(
        "INSERT INTO case_studies (id, story_id, created_by, title, context, quotes, created_at, updated_at)"
        " VALUES (1, 1, 1, 'Case', 'Two\vlines', ?, 'now', 'now')",
        [json.dumps([{"start": 0, "end": 11, "text": "I am Ho\x85lt"}])],
    )

    assert migrations.migrate(db) == ["m016_names4_line_breaks_as_lf"]

    title, body, status = db.execute("SELECT title, body, status FROM stories WHERE id = 1").fetchone()
    assert (title, body, status) == ("Page\none", "I am Ho\nlt.\nI feel less lonely.", "approved")
    start, end, evidence = db.execute('SELECT start, "end", evidence FROM outcome_tags').fetchone()
    assert body[start:end] == evidence == "Ho\nlt.\nI feel"  # one character for one: no span moves
    context, quotes = db.execute("SELECT context, quotes FROM case_studies").fetchone()
    assert context == "Two\nlines" and json.loads(quotes) == [{"start": 0, "end": 11, "text": "I am Ho\nlt"}]
    db.execute("UPDATE stories SET body = body || ' More.' WHERE id = 1")  # the back-to-review triggers are back
    assert db.execute("SELECT status FROM stories WHERE id = 1").fetchone()[0] == "submitted"
