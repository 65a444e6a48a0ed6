"""Withdrawal and erasure: as easy as giving consent, taking effect at once, leaving no trace."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from click.testing import CliRunner

from conftest import story_form
from pipelines.publish import run_publish
from stories.backup import backup, restore
from stories.cli import cli
from stories.demo import stand_in_form
from stories.records import approve_story, change_consent, decide_name, get_story, record_story
from stories.services.consent import withdraw_story
from stories.sqlite import sqlite3

SECRET_WORD = "quillowberry"


def published_ids(instance, audience="public"):
    with sqlite3.connect(instance.published_path(audience)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM stories")]


@pytest.fixture
def story_id(instance, db, orgs, users, signed_form):
    body = f"My name is Margaret Holt. The {SECRET_WORD} club and Priya changed my Tuesdays. I feel like myself again."
    form = story_form(body=body, evidence_file=signed_form())
    new_id = record_story(db, form, organisation_id=orgs["a"], actor="t", user_id=users["worker"])
    decide_name(db, new_id, "Priya", "keep", actor="t")
    approve_story(db, new_id, actor="t", user_id=users["reviewer"])
    run_publish(instance)
    assert published_ids(instance) == [new_id]
    return new_id


def test_withdrawing_in_the_app_takes_the_story_out_of_every_file_at_once(client, auth, instance, story_id):
    auth.login("worker")
    page = client.get(f"/stories/{story_id}")
    assert f"/stories/{story_id}/withdraw".encode() in page.data  # one click from the story
    response = client.post(f"/stories/{story_id}/withdraw", data={"scope": "publication", "reason": "Asked by phone"})
    assert response.status_code == 302
    assert published_ids(instance, "public") == [] and published_ids(instance, "commissioners") == []
    result = CliRunner().invoke(cli, ["check-no-trace", SECRET_WORD, "--published", "--instance", str(instance.root)])
    assert result.exit_code == 0, result.output
    assert "consent withdrawn" in client.get(f"/stories/{story_id}").get_data(as_text=True)


def test_stop_publishing_keep_for_our_team_says_our_team_keeps_it(client, auth, story_id):
    """Issue 13: after "stop publishing, keep for our team" the page said "Our team: no — consent withdrawn"."""
    auth.login("worker")
    client.post(f"/stories/{story_id}/withdraw", data={"scope": "publication", "reason": "Asked by phone"})
    text = html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True))
    lines = {m[0]: m[1] for m in re.findall(r"<strong>([^<:]+):</strong>\s*([^<]+)</li>", text)}
    assert lines["Our team"].startswith("yes — kept for our records only")
    for audience in ("Commissioners", "Board case studies", "The public"):
        assert lines[audience].startswith("no — consent withdrawn"), lines
    assert "Consent history (2 entries)" in text and "Consent given by" in text
    assert "Consent withdrawn by Worker: Asked by phone" in text  # the person, not "user:worker"


def test_a_withdrawal_without_a_reason_is_refused_and_changes_nothing(client, auth, instance, story_id):
    auth.login("worker")
    response = client.post(f"/stories/{story_id}/withdraw", data={"scope": "publication", "reason": " "})
    assert response.status_code == 422 and b"Please give a reason" in response.data
    assert published_ids(instance) == [story_id]


def test_erasure_leaves_no_trace_anywhere_in_the_instance(instance, db, story_id):
    result = CliRunner().invoke(
        cli, ["withdraw", str(story_id), "--erase", "--reason", "Storyteller asked", "--instance", str(instance.root)]
    )
    assert result.exit_code == 0, result.output
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result = CliRunner().invoke(cli, ["check-no-trace", SECRET_WORD, "Margaret Holt", "--instance", str(instance.root)])
    assert result.exit_code == 0, result.output
    assert get_story(db, story_id) is None
    assert db.execute("SELECT story_id FROM tombstones").fetchall() == [(story_id,)]


def test_check_no_trace_fails_when_the_words_are_still_there(instance, story_id):
    result = CliRunner().invoke(cli, ["check-no-trace", SECRET_WORD, "--instance", str(instance.root)])
    assert result.exit_code == 1
    assert "published/public.db" in result.output


def test_erasure_removes_the_signed_form_unless_another_story_shares_it(instance, db, orgs, users, signed_form):
    form_name = signed_form(content=stand_in_form("Signed by one storyteller"))
    shared = stand_in_form("A form two stories of one storyteller point at")
    first = record_story(db, story_form(evidence_file=form_name), organisation_id=orgs["a"], actor="t")
    second = record_story(
        db, story_form(evidence_file=signed_form(content=shared), title="Second"), organisation_id=orgs["a"], actor="t"
    )
    shared = signed_form(content=shared)  # the same form uploaded again, for another story
    record_story(db, story_form(evidence_file=shared, title="Third"), organisation_id=orgs["a"], actor="t")
    withdraw_story(instance, first, actor="t", reason="asked", erase_story=True)
    withdraw_story(instance, second, actor="t", reason="asked", erase_story=True)
    assert not (instance.evidence_dir / form_name).exists()
    assert (instance.evidence_dir / shared).exists()


def test_restore_reapplies_withdrawals_and_erasures_made_after_the_backup(instance, db, orgs, users, story_id, tmp_path):
    other = record_story(
        db, story_form(title="Another story", body="Told about the allotment."), organisation_id=orgs["a"], actor="t"
    )
    copy = backup(instance, tmp_path / "backups")
    withdraw_story(instance, story_id, actor="t", reason="asked", erase_story=True)
    withdraw_story(instance, other, actor="t", reason="asked")
    redone = restore(instance, copy)
    assert redone == {"withdrawn": 1, "erased": 1, "narrowed": 0, "names": 0}
    restored = instance.open()
    assert get_story(restored, story_id) is None
    assert get_story(restored, other).consent.withdrawn
    run_publish(instance)
    assert published_ids(instance) == []


def test_restore_command_republishes(instance, story_id, tmp_path):
    copy = backup(instance, tmp_path / "b")
    withdraw_story(instance, story_id, actor="t", reason="asked", erase_story=True)
    result = CliRunner().invoke(cli, ["restore", str(copy), "--instance", str(instance.root)])
    assert result.exit_code == 0, result.output
    assert "re-applied 0 withdrawal(s) and 1 erasure(s)" in result.output
    assert published_ids(instance) == []


def test_whoever_exported_a_withdrawn_story_is_asked_to_destroy_it(client, auth, instance, story_id):
    auth.login("worker")
    assert client.get(f"/stories/{story_id}/export.csv").status_code == 200
    withdraw_story(instance, story_id, actor="t", reason="asked")
    page = client.get("/stories/").get_data(as_text=True)
    assert "Please destroy your copy" in page
    register = client.get("/exports/").get_data(as_text=True)
    export_id = re.search(r'action="/exports/(\d+)/destroyed"', register).group(1)
    client.post(f"/exports/{export_id}/destroyed")
    assert "Please destroy your copy" not in client.get("/stories/").get_data(as_text=True)
    auth.logout()
    auth.login("reviewer")
    register = client.get("/exports/").get_data(as_text=True)
    assert "Export register" in register and "waiting" not in register


def test_widening_consent_sends_a_signed_off_story_back_for_review(instance, db, story_id):
    change_consent(db, story_id, "amended", story_form(audiences=["team", "commissioners"]), actor="t")
    assert get_story(db, story_id).status == "approved"  # narrower: the sign-off still holds
    change_consent(db, story_id, "amended", story_form(identity_level="named"), actor="t")
    assert get_story(db, story_id).status == "submitted"


def test_narrowing_consent_in_the_app_republishes_at_once(client, auth, instance, db, story_id):
    auth.login("worker")
    own_form = get_story(db, story_id).consent.evidence_file  # the page keeps the story's signed form
    form = story_form(audiences=["team", "commissioners"], kind="amended", evidence_file=own_form)
    assert client.post(f"/stories/{story_id}/consent", data=form).status_code == 302
    assert published_ids(instance, "public") == [] and published_ids(instance, "commissioners") == [story_id]


def test_a_withdrawn_story_cannot_be_amended_only_given_afresh(instance, db, story_id):
    from stories.validation import Invalid

    withdraw_story(instance, story_id, actor="t", reason="asked")
    with pytest.raises(Invalid):
        change_consent(db, story_id, "renewed", story_form(), actor="t")
    change_consent(db, story_id, "given", story_form(), actor="t")
    assert not get_story(db, story_id).consent.withdrawn


def test_a_story_past_its_review_date_drops_out_at_the_next_scheduled_check(instance, db, story_id, monkeypatch):
    from pipelines.jobs import queue_for
    from pipelines.publish import lapsed_files
    from stories import clock

    assert lapsed_files(instance, dt.date.today()) == []
    later = clock.now() + dt.timedelta(days=400)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert lapsed_files(instance, later.date()) == ["commissioners", "public"]
    queue_for(instance.root).republish_lapsed_consents.call_local()  # what the worker runs every 10 minutes
    assert published_ids(instance) == [] and published_ids(instance, "commissioners") == []


def test_workers_see_consent_coming_due(client, auth, db, orgs):
    soon = (dt.date.today() + dt.timedelta(days=12)).isoformat()
    later = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    record_story(db, story_form(title="Due soon", review_on=soon), organisation_id=orgs["a"], actor="t")
    record_story(db, story_form(title="Due later", review_on=later), organisation_id=orgs["a"], actor="t")
    auth.login("worker")
    page = client.get("/stories/due").get_data(as_text=True)
    assert "Due soon" in page and "Due later" not in page


def test_a_reviewer_decides_on_each_name_before_an_anonymous_story_goes_out(client, auth, instance, db, orgs, users, signed_form):
    story_id = record_story(
        db,
        story_form(body="My son Jamie and Priya from the service helped. Margaret Holt.", evidence_file=signed_form()),
        organisation_id=orgs["a"],
        actor="t",
    )
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    auth.login("reviewer")
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "Jamie" in page and "needs a decision" in page and "[my son]" in page
    assert "names in the published text not yet decided on by a reviewer" in page
    client.post(
        f"/stories/{story_id}/names",
        data={
            "name-Jamie": "redact",
            "name-Jamie-placeholder": "[my son]",
            "name-Priya": "keep",
        },
    )
    with sqlite3.connect(instance.published_path("public")) as conn:
        body = conn.execute("SELECT body FROM stories").fetchone()[0]
    assert "[my son]" in body and "Jamie" not in body and "Priya" in body and "Margaret" not in body


def test_serve_finishes_a_removal_only_once_no_live_process_is_at_work_on_one(instance, db, story_id):
    from pipelines.withdraw import CutShortRemovals
    from stories.removals import removal_underway
    from stories.withdrawal import withdraw

    run_publish(instance)
    watch = CutShortRemovals(instance)
    assert watch.finish() == set()
    with removal_underway(instance):  # a live withdrawal, between committing and swapping the files
        withdraw(db, story_id, actor="t", reason="Asked by phone")
        assert watch.finish() == set()  # left to it: the files are not copied twice
        assert story_id in published_ids(instance)
    # Its process died (the kernel let go of its lock) before the files: serve finishes it.
    assert watch.finish() == {story_id}
    assert story_id not in published_ids(instance) and story_id not in published_ids(instance, "commissioners")
    assert watch.finish() == set()


def test_after_a_child_of_serve_dies_a_rebuild_is_asked_for(instance, monkeypatch):
    # A worker killed mid-job takes a sign-off's change with it: an attack saw the signed-off story stay
    # unpublished until the next rebuild, 78 s and more. What serve runs after a death asks for one now.
    from pipelines.jobs import queue_for
    from stories.services.publishing import finish_withdrawals_cut_short

    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")
    queue_for.cache_clear()
    try:
        queue = queue_for(instance.root)
        finish_withdrawals_cut_short(instance, actor="system:serve")
        assert [task.name for task in queue.huey.pending()] == ["publish"]
    finally:
        queue_for.cache_clear()
