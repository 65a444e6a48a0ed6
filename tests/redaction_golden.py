"""The identity rules' golden file: varied stories, at every identity level, with the words each publishes.

tests/test_rules_version.py compares the rules' output with tests/data/redaction_golden.json, so a
change to what a story publishes cannot reach stored versions made under the old rules unnoticed:
it fails until identity.RULES_VERSION is bumped and this file regenerated.

Regenerate: .venv/bin/python tests/redaction_golden.py
(it refuses while the output differs from the file and RULES_VERSION is unchanged).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stories.consent import AUDIENCES, IDENTITY_LEVELS, Consent  # noqa: E402
from stories.identity import RULES_VERSION, published_version  # noqa: E402
from stories.recorded_names import read_name  # noqa: E402
from stories.story import Story  # noqa: E402

GOLDEN = ROOT / "tests/data/redaction_golden.json"
REGENERATE = ".venv/bin/python tests/redaction_golden.py"

# (what it covers, title, body, the storyteller's recorded names, told aloud, other names decided on)
STORIES: list[tuple[str, str, str, list[str], bool, dict[str, str]]] = [
    (
        "surname, title, possessive, initials",
        "Margaret's year",
        "Margaret Holt lives alone. Mrs Holt's neighbour says M. Holt, or M.H., signs the rota; Margaret's cat came too.",
        ["Margaret Holt"],
        False,
        {},
    ),
    (
        "hyphenated surname and initials",
        "A new start",
        "When I married I became Margaret Holt-Barnes. Barnes-Holt is on the letters; M.H-B. signed for the keys.",
        ["Margaret Holt-Barnes"],
        False,
        {},
    ),
    (
        "spelled out, unicode forms, all capitals",
        "Spelling it out",
        "Holt, that's H-O-L-T, or h.o.l.t or H O L T. Ｈｏｌｔ and HOLT too. Café naïve stays.",
        ["Margaret Holt", "Maggie"],
        False,
        {},
    ),
    (
        "third parties: kin and workers, decided and undecided",
        "The lunch club",
        "My son Jamie rang Priya, my support worker. Dr Rahman said Jamie was doing well, and Bethan Rees agreed.",
        ["Maria Smith"],
        False,
        {"Jamie": "[my son]"},
    ),
    (
        "contacts, handles, addresses and numbers",
        "Getting in touch",
        "Write to sian.evans@example.org or @SianE, ring 07700 900123, or call at 14 Elm Street, LS6 2AB. "
        "siane1990 on the forum is me too.",
        ["Siân Evans"],
        False,
        {},
    ),
    (
        "an everyday word as a name, a name inside a longer word",
        "Will's allotment",
        "Will said I will come to Will's house. Ann went to the Annual planning day with Willow.",
        ["Will Jones", "Ann"],
        False,
        {},
    ),
    (
        "particles, recorded surname first",
        "Jean-Paul's story",
        "Jean-Paul van der Berg moved here in May. Mr van der Berg, J-P to his friends, now runs the café.",
        ["VAN DER BERG, Jean-Paul", "JP"],
        False,
        {},
    ),
    (
        "told aloud: misheard spellings and where a name is said",
        "Told aloud",
        "my name is margaret grimsditch and grinstich is how they wrote it. Mrs Grimsditch, that's me, said Priya.",
        ["Margaret Grimsditch"],
        True,
        {},
    ),
    (
        "lower-case speech, family name plural, joined tokens",
        "Family",
        "so i went to see priya and the Kowalskis came. #KowalskiFamily and annakowalski88 posted it.",
        ["Anna Kowalski"],
        False,
        {"Priya": "[my friend]"},
    ),
    (
        "titles that are everyday words, kin words kept",
        "Titles",
        "Mister Okafor met Miss Okafor and Nurse Okafor. My sister Grace came; DOCTOR OKAFOR signed.",
        ["Grace Okafor"],
        False,
        {},
    ),
    (
        "places and organisations are not names",
        "Bradford",
        "Chidi Okafor moved to Bradford and joined Heaton Park Running Club and Bradford Council's scheme at St Mark's.",
        ["Chidi Okafor"],
        False,
        {},
    ),
    (
        "no recorded names: every name waits for a reviewer",
        "Nobody named",
        "Kyle Bradshaw and his nan met Helen at the Aireside hub.",
        [],
        False,
        {},
    ),
]

# Every case carries a tag whose contribution statement and evidence stand apart from the body, and a
# panel's reason, so every published text (identity.published_texts) is in the golden file.
TAG = {
    "id": 1,
    "domain": "relationships",
    "status": "confirmed",
    "start": None,
    "end": None,
}


def story(title: str, body: str, names: list[str], aloud: bool, decisions: dict[str, str], level: str) -> Story:
    """A story as the identity step reads it, at one identity level."""
    first = read_name(names[0]).first if names else "Kyle"
    return a_story(
        title=title,
        body=body,
        storyteller_names=tuple(names),
        consent=consent_at(level),
        source="audio" if aloud else "text",
        name_decisions={name: {"decision": "redact", "placeholder": p} for name, p in decisions.items()},
        interventions=({"name": "Lunch Club"},),
        tags=({**TAG, "evidence": f"{first} said it changed everything.", "contribution_statement": f"{first} met us."},),
        msc_choices=({"domain": "relationships", "chosen_at": "2024-05-01T10:00:00", "reason": f"{first} found friends."},),
    )


def a_story(**fields: Any) -> Story:
    """A story with `fields` and plain values for the rest (which the identity step does not read)."""
    told = dt.date(2024, 5, 1)
    plain: dict[str, Any] = dict(
        id=1,
        uid="golden",
        organisation_id=1,
        organisation="Aireside Befriending Network",
        area="Leeds",
        storyteller_id=1,
        storyteller_reference="G-1",
        pseudonym_seed="golden-seed",
        storyteller_names=(),
        title="",
        body="",
        told_on=told,
        source="text",
        status="approved",
        text_reviewed=True,
        created_by=None,
        created_at=f"{told}T10:00:00",
        updated_at=f"{told}T10:00:00",
        approved_by=None,
        approved_at=None,
        consent=consent_at("anonymous"),
        consent_events=(),
        recording_file=None,
        interventions=(),
        tags=(),
        name_decisions={},
        verifications=(),
        msc_choices=(),
    )
    return Story(**{**plain, **fields})


def consent_at(level: str) -> Consent:
    """Consent to every audience at one identity level (only the level changes what a text publishes)."""
    return Consent(
        given_by="storyteller",
        age_band="25-44",
        witness="",
        method="written",
        info_sheet_version="v1",
        audiences=frozenset(AUDIENCES),
        identity_level=level,
        special_category=True,
        given_on=dt.date(2024, 5, 1),
        review_on=dt.date(2027, 5, 1),
    )


def outputs() -> list[dict[str, Any]]:
    """What every golden story publishes at every identity level."""
    results = []
    for covers, title, body, names, aloud, decisions in STORIES:
        for level in IDENTITY_LEVELS:
            version = published_version(story(title, body, names, aloud, decisions, level)).to_json()
            results.append({"covers": covers, "level": level, "names": names, "told_aloud": aloud, "published": version})
    return json.loads(json.dumps(results))  # as the file holds them: lists, not tuples


def load() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def write() -> str:
    """Regenerate the golden file; refuse when the output changed but RULES_VERSION did not."""
    current = outputs()
    if GOLDEN.exists():
        golden = load()
        if golden["rules_version"] == RULES_VERSION and golden["cases"] != current:
            return (
                f"The redaction rules' output changed but RULES_VERSION is still {RULES_VERSION}: "
                "bump it in stories/identity.py first, then run this again."
            )
    text = json.dumps({"rules_version": RULES_VERSION, "cases": current}, ensure_ascii=False, indent=1)
    GOLDEN.write_text(text + "\n", encoding="utf-8")
    return f"Wrote {GOLDEN.relative_to(ROOT)}: {len(current)} cases, rules version {RULES_VERSION}."


if __name__ == "__main__":
    message = write()
    print(message)
    sys.exit(0 if message.startswith("Wrote") else 1)
