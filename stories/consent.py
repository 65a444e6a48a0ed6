"""Consent that travels with each story: its fields, its history, and the publication decision.

Consent is an append-only history of events per story; the current consent is derived by
`current_consent`. Whether a story may be shown to an audience is decided only by
`publishable`, a pure function that fails closed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from stories.evidence import is_stored_name
from stories.validation import Problems, one_of, optional_text, parse_bool, parse_date, required_text, split_list

# Who may see a story. "team" is the recording organisation inside the app; "board" is the
# case-study builder; "commissioners" and "public" are the published files.
TEAM, COMMISSIONERS, BOARD, PUBLIC = "team", "commissioners", "board", "public"
AUDIENCES = (TEAM, COMMISSIONERS, BOARD, PUBLIC)
PUBLISHED_AUDIENCES = (COMMISSIONERS, PUBLIC)

NAMED, FIRST_NAME, PSEUDONYM, ANONYMOUS = "named", "first_name", "pseudonym", "anonymous"
IDENTITY_LEVELS = (NAMED, FIRST_NAME, PSEUDONYM, ANONYMOUS)
HIDDEN_IDENTITY_LEVELS = (PSEUDONYM, ANONYMOUS)

GIVERS = ("storyteller", "parent_guardian", "advocate")
WRITTEN, VERBAL, EASY_READ = "written", "verbal_recording", "easy_read"
METHODS = (WRITTEN, VERBAL, EASY_READ)
FORM_METHODS = (WRITTEN, EASY_READ)  # evidenced by the signed form; verbal consent by a moment in the recording
AGE_BANDS = ("under 13", "13-15", "16-17", "18-24", "25-44", "45-64", "65+")
CHILD_AGE_BANDS = ("under 13", "13-15")
UNDER_18_AGE_BANDS = ("under 13", "13-15", "16-17")

# Event kinds. given/amended/renewed carry the full terms; withdrawn and erased carry a reason.
GIVEN, AMENDED, RENEWED, WITHDRAWN, ERASED = "given", "amended", "renewed", "withdrawn", "erased"
EVENT_KINDS = (GIVEN, AMENDED, RENEWED, WITHDRAWN, ERASED)
TERMS_EVENTS = (GIVEN, AMENDED, RENEWED)
EVENT_LABELS = {
    GIVEN: "Consent given",
    AMENDED: "Consent changed",
    RENEWED: "Consent renewed at its review",
    WITHDRAWN: "Consent withdrawn",
    ERASED: "Story erased",
}

LABELS = {
    TEAM: "Our team",
    COMMISSIONERS: "Commissioners",
    BOARD: "Board case studies",
    PUBLIC: "The public",
    NAMED: "Named",
    FIRST_NAME: "First name only",
    PSEUDONYM: "Pseudonym",
    ANONYMOUS: "Anonymous",
    "storyteller": "The storyteller",
    "parent_guardian": "A parent or guardian",
    "advocate": "An advocate",
    "written": "Written consent form",
    "verbal_recording": "Verbal, on the recording",
    "easy_read": "Easy-read consent form",
}

MAX_REVIEW_YEARS = 3


@dataclasses.dataclass(frozen=True)
class Consent:
    """The consent terms in force for one story."""

    given_by: str
    age_band: str
    witness: str
    method: str
    info_sheet_version: str
    audiences: frozenset[str]
    identity_level: str
    special_category: bool
    given_on: dt.date
    review_on: dt.date
    evidence_file: str | None = None
    evidence_time: float | None = None
    evidence_recording: str | None = None  # the stored recording `evidence_time` is a moment in
    version: int | None = None  # id of the event that set these terms
    withdrawn: bool = False
    withdrawn_on: dt.date | None = None

    def to_event_fields(self) -> dict[str, Any]:
        """The columns of a consent_events row that carry these terms."""
        return {
            "given_by": self.given_by,
            "age_band": self.age_band,
            "witness": self.witness,
            "method": self.method,
            "info_sheet_version": self.info_sheet_version,
            "audiences": json.dumps(sorted(self.audiences, key=AUDIENCES.index)),
            "identity_level": self.identity_level,
            "special_category": int(self.special_category),
            "given_on": self.given_on.isoformat(),
            "review_on": self.review_on.isoformat(),
            "evidence_file": self.evidence_file,
            "evidence_time": self.evidence_time,
            "evidence_recording": self.evidence_recording,
        }


@dataclasses.dataclass(frozen=True)
class StoryState:
    """The facts about a story (not its consent) that publication depends on."""

    status: str  # draft | submitted | approved
    text_reviewed: bool  # a typed story is its own text; a transcript needs a person's review
    names_resolved: bool  # every name found in any published text has a keep-or-redact decision
    recording: str | None = None  # the stored name of the story's recording, if it has one


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def publishable(story: StoryState, consent: Consent | None, audience: str, today: dt.date) -> Decision:
    """May this story be shown to this audience today? Anything unknown means no."""
    if audience not in AUDIENCES:
        return Decision(False, f"unknown audience {audience!r}")
    if consent is None:
        return Decision(False, "no consent recorded")
    if consent.withdrawn:
        # "Stop publishing, keep for our team": the story stays on the team's record (an erased one is gone
        # altogether), and goes nowhere else.
        if audience == TEAM:
            return Decision(True, "kept for our records only; consent withdrawn, so it is not shared or exported")
        return Decision(False, "consent withdrawn")
    if consent.given_on > today:
        return Decision(False, "consent is dated in the future")
    if consent.review_on < today:
        return Decision(False, f"consent review date {consent.review_on.isoformat()} has passed")
    if audience not in consent.audiences:
        return Decision(False, f"consent does not include {LABELS[audience].lower()}")
    if audience == TEAM:
        return Decision(True, "consented for the team")
    if not consent.special_category:
        return Decision(False, "no explicit consent for special-category details, so team only")
    missing = missing_evidence(consent, story.recording)
    if missing:
        return Decision(False, f"no consent evidence: {missing}")
    if story.status != "approved":
        return Decision(False, "not yet signed off by a reviewer")
    if not story.text_reviewed:
        return Decision(False, "transcript not yet reviewed by a person")
    if not story.names_resolved:
        # At every identity level: another person's name, or a word that may be the storyteller's,
        # goes beyond the team only once a reviewer has kept or replaced it.
        return Decision(False, "names in the published text not yet decided on by a reviewer")
    return Decision(True, f"consented for {LABELS[audience].lower()}, {LABELS[consent.identity_level].lower()}")


def missing_evidence(consent: Consent, recording: str | None) -> str:
    """What the evidence for these terms lacks, for a story with this recording ('' when it holds).

    Evidence must match the method: a signed form for written and easy-read consent, a moment
    inside this story's own recording for verbal consent. A time in any other recording, or in
    none, is no evidence at all.
    """
    if consent.method in FORM_METHODS:
        return "" if consent.evidence_file else "no signed consent form on file"
    if consent.method != VERBAL:
        return "the consent method is not known"
    if consent.evidence_time is None or not 0 <= consent.evidence_time < math.inf:
        return "no moment marked in the recording where consent is given"
    if recording is None:
        return "verbal consent needs the story's recording, and it has none"
    if consent.evidence_recording != recording:
        return "the moment of verbal consent was marked in a recording this story no longer has"
    return ""


def current_consent(events: Iterable[Mapping[str, Any]]) -> Consent | None:
    """Derive the consent in force from a story's events, oldest first."""
    consent: Consent | None = None
    for event in sorted(events, key=lambda e: e["id"]):
        kind = event["kind"]
        if kind == GIVEN or (kind in (AMENDED, RENEWED) and consent is not None and not consent.withdrawn):
            consent = consent_from_event(event)
        elif kind == WITHDRAWN and consent is not None:
            consent = dataclasses.replace(
                consent, withdrawn=True, withdrawn_on=dt.datetime.fromisoformat(event["recorded_at"]).date()
            )
        elif kind == ERASED:
            return None
    return consent


def consent_from_event(event: Mapping[str, Any]) -> Consent:
    return Consent(
        given_by=event["given_by"],
        age_band=event["age_band"],
        witness=event["witness"],
        method=event["method"],
        info_sheet_version=event["info_sheet_version"],
        audiences=frozenset(json.loads(event["audiences"])),
        identity_level=event["identity_level"],
        special_category=bool(event["special_category"]),
        given_on=dt.date.fromisoformat(event["given_on"]),
        review_on=dt.date.fromisoformat(event["review_on"]),
        evidence_file=event["evidence_file"],
        # Terms saved before an infinite time was refused must still be read (as no time at all).
        evidence_time=event["evidence_time"] if _finite(event["evidence_time"]) else None,
        evidence_recording=event.get("evidence_recording"),
        version=event["id"],
    )


def validate_consent(problems: Problems, data: Mapping[str, Any], today: dt.date) -> Consent:
    """Read consent terms from submitted fields, adding every problem found."""
    given_by = one_of(
        problems,
        data,
        "given_by",
        "Who gave consent",
        GIVERS,
        missing="Choose who gave consent: the storyteller, or someone for them.",
    )
    age_band = one_of(problems, data, "age_band", "Age band", AGE_BANDS, missing="Choose the storyteller's age band.")
    witness = required_text(
        problems, data, "witness", "Witness", 200, missing="Enter who witnessed consent: their name and role."
    )
    method = one_of(problems, data, "method", "Consent method", METHODS, missing="Choose how consent was given.")
    info_sheet_version = required_text(
        problems,
        data,
        "info_sheet_version",
        "Information sheet version",
        40,
        missing="Enter the version of the information sheet the storyteller was given, for example 2.1.",
    )
    identity_level = one_of(
        problems, data, "identity_level", "Identity level", IDENTITY_LEVELS, missing="Choose how the storyteller is identified."
    )
    special_category = parse_bool(problems, data, "special_category", "Special-category consent")
    given_on = parse_date(problems, data, "given_on", "Date consent was given", required=True)
    review_on = parse_date(
        problems,
        data,
        "review_on",
        "Consent review date",
        required=True,
        missing="Enter when to review consent: at most three years ahead.",
    )
    evidence_file = optional_text(problems, data, "evidence_file", "Evidence file", 200) or None
    evidence_time = _evidence_time(problems, data)

    audiences = split_list(data.get("audiences"))
    unknown = [a for a in audiences if a not in AUDIENCES]
    if unknown:
        problems.add("audiences", f"Unknown audience {unknown[0]!r}; choose from {', '.join(AUDIENCES)}.")
    elif TEAM not in audiences:
        problems.add("audiences", "Consent must at least include our team, or the story cannot be kept.")

    if given_on and given_on > today:
        problems.add("given_on", "The date consent was given cannot be in the future.")
    if given_on and review_on:
        if review_on <= given_on:
            problems.add("review_on", "The review date must be after the date consent was given.")
        elif review_on > given_on + dt.timedelta(days=365 * MAX_REVIEW_YEARS + 1):
            problems.add("review_on", f"Consent must be reviewed within {MAX_REVIEW_YEARS} years of being given.")
    if age_band in CHILD_AGE_BANDS and given_by == "storyteller":
        problems.add("given_by", "For a storyteller under 16, consent is given by a parent or guardian, or an advocate.")
    if age_band in UNDER_18_AGE_BANDS and PUBLIC in audiences and identity_level in (NAMED, FIRST_NAME):
        problems.add("identity_level", "A young person's story can go to the public only under a pseudonym or anonymously.")
    if evidence_file and not is_stored_name(evidence_file):
        problems.add("evidence_file", "The consent form on file could not be found; please upload it again.")
        evidence_file = None
    # Only evidence that matches the method is kept: a time is no evidence of a written consent.
    if method in FORM_METHODS:
        if evidence_time is not None and not evidence_file:
            problems.add(
                "evidence_file",
                f"For a {LABELS[method].lower()}, upload the signed form: a time in the recording is evidence only of"
                " verbal consent.",
            )
        evidence_time = None
    elif method == VERBAL:
        if evidence_file and evidence_time is None:
            problems.add("evidence_time", "For verbal consent, mark the time in the recording where consent is given.")
        evidence_file = None

    return Consent(
        given_by=given_by,
        age_band=age_band,
        witness=witness,
        method=method,
        info_sheet_version=info_sheet_version,
        audiences=frozenset(a for a in audiences if a in AUDIENCES),
        identity_level=identity_level,
        special_category=special_category,
        given_on=given_on or today,
        review_on=review_on or today,
        evidence_file=evidence_file,
        evidence_time=evidence_time,
    )


def _evidence_time(problems: Problems, data: Mapping[str, Any]) -> float | None:
    """A time in the recording, as seconds or m:ss / h:mm:ss."""
    raw = str(data.get("evidence_time") or "").strip()
    if not raw:
        return None
    try:
        seconds = 0.0
        for part in raw.split(":"):
            seconds = seconds * 60 + float(part)
    except ValueError:
        seconds = math.nan
    if not _finite(seconds):  # "inf", "nan" and "1e400" are numbers to float(), but no moment in a recording
        problems.add(
            "evidence_time", f"Write the time in the recording as minutes and seconds, for example 1:23 (not {raw[:20]!r})."
        )
        return None
    if seconds < 0:
        problems.add("evidence_time", "The time in the recording cannot be negative.")
        return None
    return seconds


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def describe_audiences(audiences: Iterable[str]) -> str:
    return ", ".join(LABELS[a] for a in AUDIENCES if a in set(audiences))
