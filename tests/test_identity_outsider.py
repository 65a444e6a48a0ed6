"""Issue 12, items 1 and 2, round two: what an outside attacker still got through, walked as they did.

Each test records a story through the app's forms, decides on names as the page offers them (the
worst case: a reviewer who keeps every flagged name), signs off, and reads the published file.
"""

from __future__ import annotations

import html
import io
import re
import subprocess

import pytest
from test_identity import decide, public_rows, record, sign_off

from conftest import add_tag, story_form, with_signed_form
from stories.recordings import add_recording, correct_transcript, save_transcript
from stories.records import decide_name, get_story, record_story

# What the attacker found published unchanged or only flagged: the storyteller is Margaret Holt.
HOLT_IN_DISGUISE = (
    "Ho\u200blt",
    "Ho\u200dlt",
    "Ho\u00adlt",
    "\u041d\u043elt",  # Cyrillic "Но"
    "\u0397\u03bflt",  # Greek "Ηο"
    "H\tO\tL\tT",
    "Ho-\nlt",
    "margaretholt",
    "facebook.com/margaret.holt",
    "Holt_Barnes",
    "MargaretHolt",
    "#HoltFamily",
)
ALREADY_HIDDEN = ("HOLT", "Holt's", "Hölt", "Ｈｏｌｔ", "𝐇𝐨𝐥𝐭", "Ⓗⓞⓛⓣ", "Holt-Barnes", "H-O-L-T", "h.o.l.t", "M. Holt")


def flagged(client, story_id: int) -> dict[str, str]:
    """The names the story page asks a reviewer to decide on, each with the note shown beside it."""
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    notes = re.findall(
        r'<p class="muted name-fields">(.*?)</p>\s*<div class="choice"><input type="radio" id="keep-\d+" name="name-(.*?)"',
        page,
        re.S,
    )
    return {html.unescape(name): html.unescape(note) for note, name in notes}


def keep_every_flagged_name(client, story_id: int) -> dict[str, str]:
    names = flagged(client, story_id)
    decide(client, story_id, **dict.fromkeys(names, "keep"))
    return names


def searchable(instance, word: str) -> int:
    """Stories the public file's full-text index finds for word, as `/public/stories.json?_search=` would."""
    return public_rows(instance, f"SELECT count(*) FROM stories_fts WHERE stories_fts MATCH '{word}'")[0][0]


@pytest.mark.parametrize("level", ["first_name", "pseudonym", "anonymous"])
def test_a_surname_in_disguise_is_hidden_even_when_the_reviewer_keeps_every_flagged_name(client, auth, instance, level):
    auth.login("reviewer")
    variants = (*HOLT_IN_DISGUISE, *ALREADY_HIDDEN, "MH")
    body = "I wrote my name every way I could. " + " ".join(f"They wrote {v} on the form." for v in variants)
    story_id = record(client, identity_level=level, storyteller_names="Margaret Holt; Maggie", body=body)
    names = keep_every_flagged_name(client, story_id)
    assert names == {
        "MH": "In: Story. This may be the storyteller's initials."
    }  # flagged, never hidden: "MH" is also mental health
    sign_off(client, story_id)

    [(published, storyteller)] = public_rows(instance, "SELECT body, storyteller FROM stories")
    for variant in (*HOLT_IN_DISGUISE, *ALREADY_HIDDEN):
        assert variant not in published, variant
    assert "holt" not in published.casefold() and "They wrote MH on the form." in published
    assert searchable(instance, "holt") == 0
    if level == "first_name":
        assert storyteller == "Margaret" and "They wrote Margaret on the form." in published
    else:
        assert searchable(instance, "margaret") == 0 and "margaret" not in published.casefold()


@pytest.mark.parametrize(
    ("names", "level", "body", "gone", "kept"),
    [
        (
            "Jean-Paul van der Berg",
            "pseudonym",
            "Everyone calls me vanderBerg. Post for J-P van der Berg, Van der Berg or Vanderberg comes here.",
            ("berg", "van der", "J-P", "Jean"),
            ("Everyone calls me",),
        ),
        ("Siobhán O'Neill", "anonymous", "Letters came for SIOBHÁN OʼNeill and Siobhan O’Neill.", ("neill", "siobh"), ()),
        (
            "Margaret Ann Holt-Barnes; Mags",
            "first_name",
            "I signed it M.A.H-B. as always. Mags to my friends.",
            ("H-B", "holt", "barnes"),
            ("I signed it Margaret as always.", "Mags to my friends."),
        ),
    ],
)
def test_particles_apostrophes_and_initials_of_other_recorded_names_are_hidden(
    client, auth, instance, names, level, body, gone, kept
):
    auth.login("reviewer")
    story_id = record(client, identity_level=level, storyteller_names=names, body=body)
    keep_every_flagged_name(client, story_id)
    sign_off(client, story_id)
    [(published,)] = public_rows(instance, "SELECT body FROM stories")
    for trace in gone:
        assert trace.casefold() not in published.casefold(), (trace, published)
    for words in kept:
        assert words in published


def test_run_together_initials_are_flagged_as_the_storytellers_and_a_one_word_alias_is_said_to_be_shown(client, auth):
    auth.login("reviewer")
    story_id = record(
        client,
        identity_level="first_name",
        storyteller_names="Margaret Ann Holt-Barnes; Mags",
        body="Signed MAB. Mags to my friends.",
    )
    assert flagged(client, story_id) == {"MAB": "In: Story. This may be the storyteller's initials."}
    page = html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True))
    assert 'Mags</strong> <span class="muted">(alias)</span>: shown as written: a one-word alias is first-name level.' in page
    assert "credited as “Margaret”; Ann, Holt-Barnes hidden" in page


@pytest.mark.parametrize(
    ("names", "level", "credit"),
    [
        ("Holt, Margaret", "first_name", "Margaret"),
        ("HOLT Margaret", "first_name", "Margaret"),
        ("Mrs Margaret Holt", "first_name", "Margaret"),
        ("Holt, Margaret", "named", "Margaret Holt"),
        ("HOLT Margaret", "named", "Margaret Holt"),
    ],
)
def test_a_name_typed_surname_first_or_with_a_title_credits_the_given_name(client, auth, instance, names, level, credit):
    auth.login("reviewer")
    story_id = record(client, identity_level=level, storyteller_names=names)
    decide(client, story_id, Priya="keep")
    sign_off(client, story_id)
    [(storyteller, body)] = public_rows(instance, "SELECT storyteller, body FROM stories")
    assert storyteller == credit
    if level == "first_name":
        assert body.startswith("My name is Margaret.") and "Holt" not in body


@pytest.mark.parametrize(
    ("names", "level", "question"),
    [
        ("Patel Priya", "named", "In “Patel Priya”, is Patel the surname?"),
        ("Mrs Holt", "first_name", "“Mrs Holt” has no first name"),
    ],
)
def test_a_name_whose_credit_cannot_be_told_is_asked_about_and_nothing_typed_is_lost(client, auth, db, names, level, question):
    auth.login("worker")
    form = story_form(identity_level=level, storyteller_names=names)
    response = client.post("/stories/new", data=with_signed_form(form))
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert question in text
    assert f'value="{names}"' in text and form["body"] in text
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 0


@pytest.fixture
def olive_says_her_name(tmp_path) -> bytes:
    """The attacker's recording: espeak-ng with its defaults, as they ran it."""
    wav = tmp_path / "s.wav"
    said = "My name is Olive Penhaligon. I agree to this recording being shared. Before the group I was lonely."
    subprocess.run(["espeak-ng", "-w", str(wav), said], check=True)
    return wav.read_bytes()


def test_a_surname_whisper_misheard_after_the_given_name_is_hidden(client, auth, instance, db, monkeypatch, olive_says_her_name):
    monkeypatch.setenv("STORYBANK_WHISPER_BEAM_SIZE", "1")  # the demo's setting: Whisper writes "Olive Penford"
    auth.login("reviewer")
    form = story_form(body="", storyteller_names="Olive Penhaligon", identity_level="pseudonym", method="verbal_recording")
    form.update(evidence_time="0:03", recording=(io.BytesIO(olive_says_her_name), "s.wav"))
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    story_id = int(response.headers["Location"].rsplit("/", 1)[1])
    transcript = get_story(db, story_id).body
    heard = re.match(r"My name is Olive (\w+)", transcript).group(1)
    assert heard != "Penhaligon"

    editor = client.get(f"/stories/{story_id}/transcript").get_data(as_text=True)
    segments = [html.unescape(text) for text in re.findall(r'<textarea[^>]*name="segment"[^>]*>(.*?)</textarea>', editor, re.S)]
    assert segments
    assert client.post(f"/stories/{story_id}/transcript", data={"segment": segments, "action": "reviewed"}).status_code == 302
    names = flagged(client, story_id)
    decide(client, story_id, **{name: "[name]" for name in names})  # "redact all flagged names"
    sign_off(client, story_id)

    [(body, storyteller)] = public_rows(instance, "SELECT body, storyteller FROM stories")
    assert re.match(rf"My name is {storyteller}\b", body), body
    assert heard not in body and "Olive" not in body and "Penhaligon" not in body


@pytest.mark.parametrize(
    ("recorded", "said", "misheard"),
    [
        ("Gurpreet Kaczmarek", "I'm Gurpreet Karkenmek and I came to the group in March.", ("Karkenmek",)),
        ("Margaret Leatherbarrow", "My name is Margaret Lemairo and I came to the group in March.", ("Lemairo",)),
        ("Anna Wojciechowski", "My name is Anna Wojcie Cowskid and I came to the group in March.", ("Wojcie", "Cowskid")),
    ],
)
def test_a_transcripts_word_where_the_storytellers_name_goes_is_theirs_even_if_kept(
    client, auth, instance, db, orgs, signed_form, recorded, said, misheard
):
    form = story_form(body="", storyteller_names=recorded, identity_level="anonymous", evidence_file=signed_form("reviewer"))
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="reviewer", source="audio")
    recording_id = add_recording(db, story_id, audio_file="x.wav", duration=9.0, codec="pcm", actor="t")
    save_transcript(db, story_id, recording_id, segments=[{"start": 0, "end": 9, "text": said}], language="en", model="t")
    correct_transcript(db, story_id, [said], actor="t", reviewed=True)
    auth.login("reviewer")
    keep_every_flagged_name(client, story_id)
    sign_off(client, story_id)
    [(body,)] = public_rows(instance, "SELECT body FROM stories")
    assert "[the storyteller] and I came to the group in March." in body
    assert not any(word in body for word in misheard)


@pytest.fixture
def pseudonymous_board_story(db, orgs, users, signed_form) -> int:
    form = story_form(identity_level="pseudonym", evidence_file=signed_form("test"))
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="test", user_id=users["reviewer"])
    decide_name(db, story_id, "Priya", "keep", actor="test")
    from stories.records import approve_story

    approve_story(db, story_id, actor="test", user_id=users["reviewer"])
    return story_id


def test_a_presenters_guess_gets_the_same_answer_whether_or_not_it_is_the_hidden_name(client, auth, pseudonymous_board_story):
    auth.login("presenter")
    page = client.get(f"/case-studies/stories/{pseudonymous_board_story}").get_data(as_text=True)
    pseudonym = re.search(r"Told by (\w+) \(a pseudonym\)", page).group(1)
    answers = {}
    for guess in ("Holt", "Margaret", "Maggie", "Smith", "Jones", "Patel", "holt", "smith"):
        response = client.post(
            f"/case-studies/stories/{pseudonymous_board_story}", data={"title": "Story", "context": f"Is it {guess}?"}
        )
        message = re.search(r"The context names .*?\.(?= A case study)", html.unescape(response.get_data(as_text=True)))
        answers[guess] = (response.status_code, message.group().replace(guess, "GUESS") if message else None)
    assert set(answers.values()) == {(422, "The context names “GUESS”, not named in the story as the board reads it.")}, answers
    shown = client.post(
        f"/case-studies/stories/{pseudonymous_board_story}", data={"title": "Story", "context": f"{pseudonym} and Priya."}
    )
    assert shown.status_code == 303  # names the story shows may be used


ATTACKERS_OTHER_NAMES = {
    "jean smith": "my neighbour jean smith came round.",
    "dr. patel": "I saw dr. patel on Monday.",
    "Kowalskis": "We had tea with the Kowalskis.",
    "Kyle": "Ｋｙｌｅ and K\u200byle came, then \u041a\u0443le and Ky\u00adle.",
    "kylebradshaw88": "He is kylebradshaw88 online,",
    "instagram.com/kyle.bradshaw": "and instagram.com/kyle.bradshaw too,",
    "x-kyle-x": "or x-kyle-x in games.",
}


@pytest.mark.parametrize("level", ["named", "anonymous"])
def test_other_peoples_names_in_any_disguise_wait_for_a_decision(client, auth, instance, level):
    auth.login("reviewer")
    body = "My name is Margaret Holt. " + " ".join(ATTACKERS_OTHER_NAMES.values())
    story_id = record(client, identity_level=level, body=body)
    names = flagged(client, story_id)
    assert set(ATTACKERS_OTHER_NAMES) <= set(names), names
    assert "Written with hidden characters or look-alike letters" in names["Kyle"]
    assert "[contact details]" in client.get(f"/stories/{story_id}").get_data(as_text=True)  # a web address is a contact detail
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT count(*) FROM stories") == [(0,)]  # signed off, but names undecided

    decide(client, story_id, **{name: "[someone]" for name in names})
    [(published,)] = public_rows(instance, "SELECT body FROM stories")
    for sentence in ATTACKERS_OTHER_NAMES.values():
        for word in re.findall(r"[^\s,.]+", sentence):
            if word.casefold() not in (
                "my",
                "neighbour",
                "came",
                "round",
                "i",
                "saw",
                "on",
                "monday",
                "we",
                "had",
                "tea",
                "with",
                "the",
            ):
                assert word not in published or word in ("and", "then", "he", "is", "online", "too", "or", "in", "games", "He"), (
                    word
                )
    assert searchable(instance, "kyle") == 0 and searchable(instance, "smith") == 0


def test_other_peoples_names_entered_as_the_storytellers_are_shown_to_the_reviewer_and_wait_for_a_decision(
    client, auth, instance
):
    auth.login("reviewer")
    story_id = record(
        client,
        identity_level="named",
        storyteller_names="Margaret Holt; Kyle Bradshaw; Helen Smith",
        body="My son Kyle Bradshaw rings me.",
    )
    page = html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True))
    assert "Recorded as the storyteller's own names" in page
    assert "(their name)</span>: shown as written; the story is credited to “Margaret Holt”" in page
    for other in ("Kyle Bradshaw", "Helen Smith"):
        assert f"{other}</strong>" in page
    assert page.count("(alias)</span>: not credited as the storyteller's.") == 2
    assert page.count("It shares no name with Margaret Holt, so each mention of it is listed below for a decision") == 2
    assert flagged(client, story_id) == {"Kyle Bradshaw": "In: Story."}
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT count(*) FROM stories") == [(0,)]
    decide(client, story_id, **{"Kyle Bradshaw": "[my son]"})
    assert public_rows(instance, "SELECT body FROM stories") == [("[my son] rings me.",)]


def test_invisible_characters_are_seen_through_in_every_published_text(client, auth, db, instance):
    auth.login("reviewer")
    story_id = record(client, identity_level="anonymous", title="Ho\u200blt and the lunch club")
    decide(client, story_id, Priya="keep")
    sign_off(client, story_id)
    tag_id = add_tag(db, story_id, "relationships", evidence="I go to the lunch club.")
    client.post(f"/stories/{story_id}/outcomes/{tag_id}/link", data={"contribution_statement": "Ho\u200blt said it"})
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT title FROM stories") == [("[the storyteller] and the lunch club",)]
    assert public_rows(instance, "SELECT contribution_statement FROM story_outcomes") == [("[the storyteller] said it",)]
