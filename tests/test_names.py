"""Finding person names and contact details: recall first, without mangling places and organisations."""

import json
from pathlib import Path

import pytest

from stories.names import find_identifiers, find_names, role_hint, suggest_placeholders

DATA = Path(__file__).parent / "data"


def names(text: str) -> list[str]:
    return [m.name for m in find_names(text)]


def labelled(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def recall(stories: list[dict]) -> float:
    hits = total = 0
    for story in stories:
        mentions = find_names(story["text"])
        for g in story["names"]:
            total += 1
            hits += any(m.start < g["end"] and g["start"] < m.end for m in mentions)
    return hits / total


def test_multi_word_names_are_one_mention_and_possessive_is_left_out():
    text = "Mrs Patel rang Dr Amina Yusuf. Mary-Jane O'Connor came with Sam's mum."
    assert names(text) == ["Mrs Patel", "Dr Amina Yusuf", "Mary-Jane O'Connor", "Sam"]


def test_mention_offsets_point_at_the_name():
    text = "After the course, Tomasz and his key worker Agnieszka Nowak met Mr and Mrs Begum."
    for m in find_names(text):
        assert text[m.start : m.end] == m.name
    assert names(text) == ["Tomasz", "Agnieszka Nowak", "Mr and Mrs Begum"]


def test_places_organisations_and_days_are_not_names():
    text = (
        "On Monday I went to Citizens Advice in Bradford, then to Mind and Age UK in "
        "Swansea. In May the NHS and the Jobcentre sorted my Universal Credit by Christmas."
    )
    assert names(text) == []


def test_names_that_are_words_are_found_when_used_as_names():
    text = "I hope it helps. Our coordinator, Hope, sat with Grace. Will said Jack would come."
    assert names(text) == ["Hope", "Grace", "Will", "Jack"]


def test_lower_case_speech_and_initials():
    assert names("so i went to see priya and mr obi at the hub and my son jack came") == [
        "priya",
        "mr obi",
        "jack",
    ]
    assert names("The first time I met J. she had nothing. A. Osei helped.") == ["J.", "A. Osei"]


def test_role_hint_and_consistent_placeholders():
    text = "My son Jamie loves Bethan Rees, my support worker. Bethan calls Jamie every week."
    jamie = find_names(text)[0]
    assert role_hint(text, jamie) == "my son"
    assert suggest_placeholders(text) == {
        "Jamie": "[my son]",
        "Bethan Rees": "[support worker]",
        "Bethan": "[support worker]",
    }


@pytest.mark.parametrize("name", ["names_dev.jsonl", "names_heldout.jsonl"])
def test_labelled_offsets_are_exact(name):
    for story in labelled(name):
        for g in story["names"]:
            assert story["text"][g["start"] : g["end"]] == g["name"]


@pytest.mark.parametrize("name", ["names_dev.jsonl", "names_heldout.jsonl"])
def test_recall_on_labelled_stories(name):
    assert recall(labelled(name)) >= 0.95


def test_contact_details_are_found_like_names():
    text = "Ring 07700 900123 or 0113 496 0000, write to a.b@example.org, LS6 2AB. NHS 485 777 3456. Born 1976."
    assert [m.name for m in find_identifiers(text)] == [
        "07700 900123",
        "0113 496 0000",
        "a.b@example.org",
        "LS6 2AB",
        "485 777 3456",
    ]


def test_names_in_disguise_in_lower_case_and_in_handles_are_found():
    text = "Ｋｙｌｅ, K\u200byle, my neighbour jean smith, dr. patel, the Kowalskis, kylebradshaw88 and x-kyle-x."
    found = find_names(text)
    assert [m.name for m in found] == ["Kyle", "Kyle", "jean smith", "dr. patel", "Kowalskis", "kylebradshaw88", "x-kyle-x"]
    assert text[found[1].start : found[1].end] == "K\u200byle"  # offsets are the original's
    assert names("My well-being, a drop-in, WhatsApp and my iPhone in 2024; jean shorts.") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I saw dr nkemelu.", "dr nkemelu"),
        ("I saw Dr nkemelu.", "Dr nkemelu"),
        ("Then MRS kowalczyk came.", "MRS kowalczyk"),
        ("K·E·V·I·N visited.", "K·E·V·I·N"),
        ("N-K-E-M-E-L-U visited.", "N-K-E-M-E-L-U"),
        ("ᴅᴇʀᴇᴋ ᴄᴏᴜʟᴛʜᴀʀᴅ visited.", "DEREK COULTHARD"),
        ("T-R-A-C-Y helped.", "T-R-A-C-Y"),
        ("W\u2013A\u2013Y\u2013N\u2013E helped.", "W-A-Y-N-E"),
        ("🅜🅐🅡🅚 helped.", "MARK"),
        ("\ua7aclenda helped.", "Glenda"),
        ("Ly\ufe0fnne helped.", "Lynne"),
        ("\u202enivlaC\u202c helped.", "Calvin"),
        ("nigelfarnsworth posted", "nigelfarnsworth"),
    ],
)
def test_names_in_disguise_are_flagged(text, name):
    assert name in [m.name for m in find_names(text)]


@pytest.mark.parametrize(
    "text",
    [
        "I miss dancing with the dr appointment letters.",
        "We met a.k.a. the club, R.S.V.P. by Friday.",
        "I-I-I don't know, x x x",
        "The NHS and the U.S.A. and the B.B.C.",
        "Grade A, B or C.",
        "I will mark the date.",
    ],
)
def test_ordinary_words_are_not_flagged_by_the_disguise_rules(text):
    assert find_names(text) == []


# Issue 12, third attack: other people's names the finder missed.


def test_names_in_the_last_disguises_are_found():
    text = (
        "K-E.V-I-N rang. uıʌǝʞ waved. K**e**vin Pr**i**tchard came. Later Pri ya and Ke\nnneth came too. "
        + "".join(chr(0xE0000 + ord(c)) for c in "tracy")
        + " hid."
    )
    found = {m.name for m in find_names(text)}
    assert {"K-E.V-I-N", "kevin", "K**e**vin Pr**i**tchard", "Pri ya", "Ke nneth", "tracy"} <= found, found


def test_words_split_by_a_space_are_no_name_when_both_are_words():
    wales = "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"
    text = f"He said to be or not. It was in St Mark's church hall. Mei Ling came. Flag {wales}."
    assert [m.name for m in find_names(text)] == ["Mei Ling"]  # and a flag's tags spell nobody


def test_a_street_address_in_lower_case_is_a_contact_detail():
    found = [m.name for m in find_identifiers("I live at 14 acacia avenue, and 3 Church Road, since 2019.")]
    assert found == ["14 acacia avenue", "3 Church Road"]
    for text in ("a 20 minute drive", "73, could not walk", "18 each way", "we walked 3 miles up the hill"):
        assert find_identifiers(text) == [], text
