"""The publication decision and the consent history it reads: the most tested code in Storybank."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from stories.consent import (
    ANONYMOUS,
    AUDIENCES,
    Consent,
    StoryState,
    current_consent,
    publishable,
    validate_consent,
)
from stories.validation import Problems

TODAY = dt.date(2026, 11, 26)
READY = StoryState(status="approved", text_reviewed=True, names_resolved=True)
ON_TAPE = dataclasses.replace(READY, recording="a.webm")  # the same, told aloud: its recording is a.webm


def consent(**changes) -> Consent:
    base = Consent(
        given_by="storyteller",
        age_band="25-44",
        witness="Sam, support worker",
        method="written",
        info_sheet_version="2.1",
        audiences=frozenset(AUDIENCES),
        identity_level=ANONYMOUS,
        special_category=True,
        given_on=TODAY - dt.timedelta(days=30),
        review_on=TODAY + dt.timedelta(days=300),
        evidence_file="form.pdf",
    )
    return dataclasses.replace(base, **changes)


def verbal_in(recording: str) -> Consent:
    """Verbal consent marked at 0:42 in this recording."""
    return consent(method="verbal_recording", evidence_file=None, evidence_time=42.0, evidence_recording=recording)


@pytest.mark.parametrize("audience", ["commissioners", "public", "board", "team"])
def test_a_fully_consented_signed_off_story_is_publishable_to_every_audience(audience):
    assert publishable(READY, consent(), audience, TODAY)


def test_a_story_withdrawn_from_publication_stays_on_the_teams_record_and_goes_nowhere_else():
    """ "Stop publishing it: keep the story for our team's records" must not then say "Our team: no" (issue 13)."""
    withdrawn = consent(withdrawn=True)
    team = publishable(READY, withdrawn, "team", TODAY)
    assert team and "kept for our records only" in team.reason
    assert not any(publishable(READY, withdrawn, audience, TODAY) for audience in ("commissioners", "board", "public"))


@pytest.mark.parametrize(
    ("story", "terms", "audience", "reason"),
    [
        (READY, None, "public", "no consent recorded"),
        (READY, consent(withdrawn=True), "public", "consent withdrawn"),
        (READY, consent(withdrawn=True), "board", "consent withdrawn"),
        (READY, consent(review_on=TODAY - dt.timedelta(days=1)), "commissioners", "review date"),
        (READY, consent(given_on=TODAY + dt.timedelta(days=1)), "public", "future"),
        (READY, consent(audiences=frozenset({"team", "commissioners"})), "public", "does not include the public"),
        (READY, consent(audiences=frozenset({"team"})), "board", "does not include board"),
        (READY, consent(special_category=False), "commissioners", "special-category"),
        (READY, consent(evidence_file=None), "public", "evidence"),
        (READY, consent(evidence_file=None, evidence_time=0.0), "public", "no signed consent form"),
        (READY, consent(method="easy_read", evidence_file=None, evidence_time=12.0), "board", "no signed consent form"),
        (READY, verbal_in("a.webm"), "public", "needs the story's recording"),
        (dataclasses.replace(READY, recording="b.webm"), verbal_in("a.webm"), "public", "no longer has"),
        (ON_TAPE, dataclasses.replace(verbal_in("a.webm"), evidence_time=None), "public", "no moment marked"),
        (ON_TAPE, dataclasses.replace(verbal_in("a.webm"), evidence_time=float("inf")), "public", "no moment marked"),
        (ON_TAPE, dataclasses.replace(verbal_in("a.webm"), evidence_time=float("nan")), "public", "no moment marked"),
        (ON_TAPE, dataclasses.replace(verbal_in("a.webm"), evidence_time=-1.0), "public", "no moment marked"),
        (ON_TAPE, consent(method="verbal_recording", evidence_time=42.0), "public", "no longer has"),
        (dataclasses.replace(READY, status="submitted"), consent(), "public", "signed off"),
        (dataclasses.replace(READY, status="draft"), consent(), "commissioners", "signed off"),
        (dataclasses.replace(READY, text_reviewed=False), consent(), "public", "transcript"),
        (dataclasses.replace(READY, names_resolved=False), consent(), "public", "names"),
        (READY, consent(), "everyone", "unknown audience"),
    ],
)
def test_anything_unknown_expired_withdrawn_or_unreviewed_is_refused(story, terms, audience, reason):
    decision = publishable(story, terms, audience, TODAY)
    assert not decision
    assert reason in decision.reason


def test_review_date_today_is_still_in_force():
    assert publishable(READY, consent(review_on=TODAY), "public", TODAY)


@pytest.mark.parametrize("level", ["named", "first_name", "pseudonym", "anonymous"])
@pytest.mark.parametrize("audience", ["commissioners", "board", "public"])
def test_undecided_names_keep_a_story_with_the_team_at_every_identity_level(level, audience):
    undecided = dataclasses.replace(READY, names_resolved=False)
    assert not publishable(undecided, consent(identity_level=level), audience, TODAY)
    assert publishable(undecided, consent(identity_level=level), "team", TODAY)
    assert publishable(READY, consent(identity_level=level), audience, TODAY)


def test_team_sees_an_unreviewed_story_without_special_category_consent():
    story = StoryState(status="submitted", text_reviewed=False, names_resolved=False)
    assert publishable(story, consent(special_category=False, evidence_file=None), "team", TODAY)


def test_verbal_consent_is_a_moment_in_the_storys_own_recording():
    assert publishable(ON_TAPE, verbal_in("a.webm"), "public", TODAY)


def test_the_team_keeps_a_story_whatever_its_evidence():
    assert publishable(READY, consent(method="verbal_recording", evidence_file=None), "team", TODAY)


def _event(id, kind, **fields):
    base = {
        "id": id,
        "kind": kind,
        "recorded_at": "2026-11-01T10:00:00+00:00",
        "given_by": "storyteller",
        "age_band": "25-44",
        "witness": "w",
        "method": "written",
        "info_sheet_version": "1",
        "audiences": '["team", "public"]',
        "identity_level": "anonymous",
        "special_category": 1,
        "given_on": "2026-10-01",
        "review_on": "2027-10-01",
        "evidence_file": "f.pdf",
        "evidence_time": None,
    }
    base.update(fields)
    return base


def test_current_consent_is_the_latest_terms_and_withdrawal_sticks():
    events = [
        _event(1, "given"),
        _event(2, "amended", audiences='["team"]'),
        _event(3, "withdrawn", recorded_at="2026-11-20T09:00:00+00:00"),
        _event(4, "renewed"),  # a renewal cannot quietly undo a withdrawal
    ]
    current = current_consent(events)
    assert current.audiences == {"team"}
    assert current.withdrawn and current.withdrawn_on == dt.date(2026, 11, 20)
    assert current.version == 2


def test_fresh_consent_after_withdrawal_is_in_force_again():
    events = [_event(1, "given"), _event(2, "withdrawn"), _event(3, "given", identity_level="pseudonym")]
    current = current_consent(events)
    assert not current.withdrawn and current.identity_level == "pseudonym" and current.version == 3


def test_erased_story_has_no_consent():
    assert current_consent([_event(1, "given"), _event(2, "erased")]) is None


def test_events_are_read_in_order_whatever_order_they_arrive_in():
    assert current_consent([_event(2, "withdrawn"), _event(1, "given")]).withdrawn


def _validate(**fields):
    data = {
        "given_by": "storyteller",
        "age_band": "25-44",
        "witness": "Sam",
        "method": "written",
        "info_sheet_version": "2",
        "audiences": ["team", "public"],
        "identity_level": "anonymous",
        "special_category": "yes",
        "given_on": "2026-11-01",
        "review_on": "2027-11-01",
    }
    data.update(fields)
    problems = Problems()
    terms = validate_consent(problems, data, TODAY)
    return terms, problems.found


def test_valid_consent_fields_give_terms():
    terms, problems = _validate()
    assert problems == {}
    assert terms.audiences == {"team", "public"} and terms.special_category


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"witness": ""}, "witness", "Enter who witnessed consent"),
        ({"witness": "\u200b "}, "witness", "Enter who witnessed consent"),
        ({"audiences": ["public"]}, "audiences", "our team"),
        ({"audiences": ["team", "everyone"]}, "audiences", "Unknown audience"),
        ({"review_on": "2026-10-01"}, "review_on", "after"),
        ({"review_on": "2031-01-01"}, "review_on", "3 years"),
        ({"given_on": "2027-01-01", "review_on": "2028-01-01"}, "given_on", "future"),
        ({"given_on": "01/11/2026"}, "given_on", "year-month-day"),
        ({"age_band": "13-15"}, "given_by", "parent or guardian"),
        ({"age_band": "16-17", "given_by": "storyteller", "identity_level": "named"}, "identity_level", "young person"),
        ({"identity_level": "famous"}, "identity_level", "must be one of"),
        ({"evidence_time": "about a minute"}, "evidence_time", "1:23"),
    ],
)
def test_bad_consent_fields_name_the_field_and_what_to_fix(fields, field, words):
    _, problems = _validate(**fields)
    assert words in problems[field]


def test_a_consent_form_left_empty_says_what_to_do_in_the_forms_words_not_in_codes():
    """Issue 13: "Who gave consent must be one of storyteller, parent_guardian, advocate (got nothing)"."""
    _, problems = _validate(given_by="", age_band="", method="", identity_level="", review_on="", info_sheet_version="")
    assert problems["given_by"] == "Choose who gave consent: the storyteller, or someone for them."
    assert problems["age_band"] == "Choose the storyteller's age band."
    assert problems["method"] == "Choose how consent was given."
    assert problems["identity_level"] == "Choose how the storyteller is identified."
    assert problems["review_on"].startswith("Enter when to review consent")
    assert problems["info_sheet_version"].startswith("Enter the version of the information sheet")
    for message in problems.values():
        assert not re.search(r"parent_guardian|verbal_recording|first_name|got nothing|YYYY", message), message


def test_evidence_time_reads_minutes_and_seconds():
    terms, _ = _validate(method="verbal_recording", evidence_time="1:02:03")
    assert terms.evidence_time == 3723


@pytest.mark.parametrize("raw", ["inf", "1e400", "nan", "-inf", "1:inf", "0:1e999"])
def test_a_time_that_is_no_moment_is_refused(raw):
    terms, problems = _validate(method="verbal_recording", evidence_time=raw)
    assert "for example 1:23" in problems["evidence_time"] and terms.evidence_time is None


def test_evidence_is_kept_only_where_it_matches_the_method():
    terms, problems = _validate(method="written", evidence_time="0:00")
    assert "upload the signed form" in problems["evidence_file"] and terms.evidence_time is None
    terms, problems = _validate(method="written", evidence_time="0:42", evidence_file="a" * 64 + ".pdf")
    assert problems == {} and terms.evidence_time is None  # the form is the evidence; the stray time is dropped
    terms, problems = _validate(method="verbal_recording", evidence_time="0:42", evidence_file="a" * 64 + ".pdf")
    assert problems == {} and terms.evidence_file is None and terms.evidence_time == 42


def test_terms_saved_with_an_infinite_time_read_as_no_time():
    assert current_consent([_event(1, "given", method="verbal_recording", evidence_time=float("inf"))]).evidence_time is None
