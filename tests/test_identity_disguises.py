"""Issue 12, third round: names in disguises the finder still missed, walked as the outside attacker did.

Each test records a story through the app's forms, keeps every name the story page asks about (the
worst case), signs off, and reads the published file.
"""

from __future__ import annotations

import pytest
from test_identity import decide, public_rows, record, sign_off
from test_identity_outsider import flagged, keep_every_flagged_name, searchable

from conftest import add_tag, story_form
from stories.identity import names_for_review, published_version
from stories.records import get_story, record_story

# The storyteller is Margaret Holt: her surname as the attacker wrote it.
HOLT_DISGUISED = (
    "H\u2013O\u2013L\u2013T",  # en dash
    "H\u2012O\u2012L\u2012T",  # figure dash
    "H·O·L·T",
    "H_O_L_T",
    "H/O/L/T",
    "H~O~L~T",
    "H*O*L*T",
    "H+O+L+T",
    "H|O|L|T",
    "H:O:L:T",
    "ʜᴏʟᴛ",  # small capitals
    "🅗🅞🅛🅣",  # negative circled letters
    "\u04bb\u043e\u04cft",  # Cyrillic shha, o, palochka
    "Ho\ufe0flt",  # a variation selector inside
    "\u202etloH\u202c",  # a right-to-left override: drawn "Holt"
    "H\u2028olt",  # a line separator, drawn as nothing
    "H·olt",  # a middle dot inside the word
    "mholt",  # her initial joined to her surname
)
# At anonymous and pseudonym level her given name goes too.
MARGARET_DISGUISED = (
    "M·A·R·G·A·R·E·T H·O·L·T",
    "ᴍᴀʀɢᴀʀᴇᴛ",
    "Marga\ufe0fret",
    "🅜🅐🅡🅖🅐🅡🅔🅣",
    "M\u2013A\u2013R\u2013G\u2013A\u2013R\u2013E\u2013T",
)


@pytest.mark.parametrize("level", ["first_name", "pseudonym", "anonymous"])
def test_the_storytellers_names_in_every_disguise_are_hidden_though_the_reviewer_keeps_every_flagged_name(
    client, auth, instance, level
):
    auth.login("reviewer")
    variants = HOLT_DISGUISED if level == "first_name" else (*HOLT_DISGUISED, *MARGARET_DISGUISED)
    body = "I wrote my name every way I could. " + " ".join(f"They wrote {v} on the form." for v in variants)
    story_id = record(client, identity_level=level, storyteller_names="Margaret Holt; Maggie", body=body)
    assert flagged(client, story_id) == {}  # nothing left for a reviewer to keep by mistake
    sign_off(client, story_id)

    [(published, storyteller)] = public_rows(instance, "SELECT body, storyteller FROM stories")
    for variant in variants:
        assert f"wrote {variant} on" not in published, variant
    assert published.count("They wrote ") == len(variants)
    theirs = "Margaret" if level == "first_name" else storyteller if level == "pseudonym" else "[the storyteller]"
    assert published.count(f"They wrote {theirs} on the form.") == len(variants), published
    assert searchable(instance, "holt") == 0
    if level != "first_name":
        assert searchable(instance, "margaret") == 0


def test_disguises_in_a_contribution_statement_are_hidden(client, auth, db, instance):
    auth.login("reviewer")
    story_id = record(client, identity_level="anonymous")
    decide(client, story_id, Priya="keep")
    sign_off(client, story_id)
    tag_id = add_tag(db, story_id, "relationships", evidence="I go to the lunch club.")
    statement = "The lunch club and H\u2013O\u2013L\u2013T family helped, ʜᴏʟᴛ said so."
    client.post(f"/stories/{story_id}/outcomes/{tag_id}/link", data={"contribution_statement": statement})
    keep_every_flagged_name(client, story_id)
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT contribution_statement FROM story_outcomes") == [
        ("The lunch club and [the storyteller] family helped, [the storyteller] said so.",)
    ]


def test_disguises_in_a_most_significant_change_reason_are_hidden(db, orgs):
    form = story_form(identity_level="anonymous", storyteller_names="Aisha Begum", body="I go to the group now.")
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
    round_id = db.execute(
        "INSERT INTO msc_rounds (organisation_id, domain, title, created_at) VALUES (?, 'relationships', 'R', 'now')",
        [orgs["a"]],
    ).lastrowid
    db.execute(
        "INSERT INTO msc_choices (round_id, story_id, reason, chosen_at) VALUES (?, ?, ?, 'now')",
        [round_id, story_id, "Mrs B\u2013E\u2013G\u2013U\u2013M and ʙᴇɢᴜᴍ both say it changed everything."],
    )
    story = get_story(db, story_id)
    note = published_version(story).most_significant_change
    assert note.endswith(": [the storyteller] and [the storyteller] both say it changed everything."), note
    assert names_for_review(story) == []


# Other people's names the attacker wrote in a named story by Nora Bell: each must wait for a decision.
OTHERS = {
    "dr nkemelu": "I saw dr nkemelu.",
    "Dr nkemelu": "I saw Dr nkemelu.",
    "K·E·V·I·N": "K·E·V·I·N visited.",
    "DEREK COULTHARD": "ᴅᴇʀᴇᴋ ᴄᴏᴜʟᴛʜᴀʀᴅ visited.",
    "T-R-A-C-Y": "T-R-A-C-Y helped.",
    "W-A-Y-N-E": "W\u2013A\u2013Y\u2013N\u2013E helped.",
    "MARK": "🅜🅐🅡🅚 helped.",
    "Glenda": "\ua7aclenda helped.",
    "Lynne": "Ly\ufe0fnne helped.",
    "Calvin": "\u202enivlaC\u202c helped.",
    "nigelfarnsworth": "nigelfarnsworth posted.",
}


def test_other_peoples_names_in_disguise_wait_for_a_decision(client, auth, instance):
    auth.login("reviewer")
    body = "My name is Nora Bell. " + " ".join(OTHERS.values())
    story_id = record(client, identity_level="named", storyteller_names="Nora Bell", body=body)
    names = flagged(client, story_id)
    assert set(OTHERS) <= set(names), set(OTHERS) - set(names)
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT count(*) FROM stories") == [(0,)]  # signed off, but names undecided

    decide(client, story_id, **{name: "[someone]" for name in names})
    [(published,)] = public_rows(instance, "SELECT body FROM stories")
    assert published.startswith("My name is Nora Bell. I saw [someone]. I saw [someone]. [someone] visited."), published
    assert published.count("[someone]") == len(OTHERS)
    for trace in ("nkemelu", "coulthard", "farnsworth", "nivla"):
        assert trace not in published.casefold()


# Issue 12, the third attack's last disguises: Margaret Holt's names as the attacker wrote them.
def _tags(word: str) -> str:
    """word in Unicode tag characters: drawn as nothing, read by any program as the letters."""
    return "".join(chr(0xE0000 + ord(char)) for char in word)


HOLT_LAST_DISGUISES = (
    "H-O.L-T",  # two different separators among single letters
    "Ho\nlt",  # a line break inside
    "Ho\u0085lt",  # NEL
    "Ho\u000clt",  # form feed
    "Ho\u000blt",  # vertical tab
    "Ho\u2029lt",  # paragraph separator
    "Ho lt",  # a space inside
    "holtm",  # surname, then initial
    "MHolt",
    "maggieholt",  # a given name joined to her surname
    "ʇloɥ",  # upside down
    _tags("Holt"),
    "H**o**lt",  # Markdown emphasis inside the word
)
MARGARET_LAST_DISGUISES = ("ʇǝɹɐƃɹɐɯ", "M-A.R-G.A-R.E-T")
WALES = "\U0001f3f4" + _tags("gbwls") + "\U000e007f"


@pytest.mark.parametrize("level", ["first_name", "pseudonym", "anonymous"])
def test_the_storytellers_names_in_the_last_disguises_are_hidden_though_the_reviewer_keeps_every_flagged_name(
    client, auth, instance, level
):
    auth.login("reviewer")
    variants = HOLT_LAST_DISGUISES if level == "first_name" else (*HOLT_LAST_DISGUISES, *MARGARET_LAST_DISGUISES)
    body = f"I wrote my name every way I could {WALES}. " + " ".join(f"They wrote {v} on the form." for v in variants)
    story_id = record(client, identity_level=level, storyteller_names="Margaret Holt", body=body)
    assert flagged(client, story_id) == {}  # nothing left for a reviewer to keep by mistake, and the flag is no name
    sign_off(client, story_id)

    [(published, storyteller)] = public_rows(instance, "SELECT body, storyteller FROM stories")
    theirs = "Margaret" if level == "first_name" else storyteller if level == "pseudonym" else "[the storyteller]"
    assert published.count(f"They wrote {theirs} on the form.") == len(variants), published
    assert published.startswith(f"I wrote my name every way I could {WALES}. ")  # the flag published as written
    assert searchable(instance, "holt") == 0
    assert not any(0xE0000 <= ord(char) <= 0xE007F for char in published.replace(WALES, ""))


# Other people's names in the last disguises, in a named story by Nora Bell: each waits for a decision.
OTHERS_LAST = {
    "K-E.V-I-N": "K-E.V-I-N visited.",
    "kevin": "uıʌǝʞ visited.",
    "K**e**vin Pr**i**tchard": "K**e**vin Pr**i**tchard helped.",
    "Pri ya": "Pri ya helped.",
    "tracy": f"{_tags('tracy')} helped.",
    "14 acacia avenue": "I live at 14 acacia avenue.",
}


def test_other_peoples_names_and_a_lower_case_address_in_the_last_disguises_wait_for_a_decision(client, auth, instance):
    auth.login("reviewer")
    body = f"My name is Nora Bell {WALES}. " + " ".join(OTHERS_LAST.values())
    story_id = record(client, identity_level="named", storyteller_names="Nora Bell", body=body)
    names = flagged(client, story_id)
    assert set(names) == set(OTHERS_LAST), names
    assert "perhaps" not in " ".join(names.values())  # nobody else's name is said to be hers
    sign_off(client, story_id)
    assert public_rows(instance, "SELECT count(*) FROM stories") == [(0,)]  # signed off, but names undecided

    decide(client, story_id, **{name: "[someone]" for name in names})
    [(published,)] = public_rows(instance, "SELECT body FROM stories")
    assert published == (
        f"My name is Nora Bell {WALES}. [someone] visited. [someone] visited. [someone] helped. [someone] helped. "
        "[someone] helped. I live at [someone]."
    )
