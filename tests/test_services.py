"""The use cases (stories/services): each decides once what the published files do after it."""

from __future__ import annotations

import pytest

from conftest import story_form
from stories import auth
from stories.records import decide_name, record_story
from stories.services import publishing, review
from stories.services.consent import withdraw_story
from stories.services.publishing import AFTER, After, UseCase, follow


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """What the published files were asked to do, in order (nothing is built)."""
    made: list[str] = []
    monkeypatch.setattr(publishing, "request_publish", lambda instance, story_ids=None: made.append("queued"))
    monkeypatch.setattr(publishing, "run_publish", lambda instance, actor: made.append("rebuilt") or {"public": 0})
    monkeypatch.setattr(
        publishing, "remove_from_published", lambda instance, ids, actor: made.append(f"took out {ids}") or {"public": 0}
    )
    return made


def test_every_use_case_has_one_decision():
    assert set(AFTER) == set(UseCase)


def test_only_withdrawal_and_erasure_take_a_story_out_before_answering():
    assert {case for case, after in AFTER.items() if after is After.TAKEN_OUT_NOW} == {UseCase.WITHDRAW, UseCase.ERASE}


@pytest.mark.parametrize(
    ("use_case", "expected"),
    [
        (UseCase.RECORD, []),
        (UseCase.SIGN_OFF, ["queued"]),
        (UseCase.PUBLISH, ["rebuilt"]),
        (UseCase.WITHDRAW, ["took out [7]", "queued"]),  # the rebuild behind catches up with everything else
    ],
)
def test_follow_does_what_the_rule_says(instance, calls, use_case, expected):
    follow(instance, use_case, [7], actor="t")
    assert calls == expected


def test_signing_off_queues_a_rebuild_and_builds_nothing_itself(instance, db, orgs, users, signed_form, calls):
    story_id = record_story(
        db, story_form(evidence_file=signed_form()), organisation_id=orgs["a"], actor="t", user_id=users["worker"]
    )
    decide_name(db, story_id, "Priya", "keep", actor="t")
    review.sign_off(instance, db, story_id, by=auth.get_user(db, users["reviewer"]))
    assert calls == ["queued"]


def test_a_withdrawal_takes_the_story_out_even_when_the_rebuild_cannot_be_queued(instance, db, orgs, users, monkeypatch):
    story_id = record_story(db, story_form(), organisation_id=orgs["a"], actor="t", user_id=users["worker"])
    taken: list[list[int]] = []
    monkeypatch.setattr(publishing, "remove_from_published", lambda instance, ids, actor: taken.append(ids) or {})

    def queue_down(instance, story_ids=None):  # noqa: ANN001, ANN202
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(publishing, "request_publish", queue_down)
    with pytest.raises(ConnectionError):
        withdraw_story(instance, story_id, actor="t", reason="asked by phone")
    assert taken == [[story_id]]
