"""Backup and restore, run with the real commands: nothing withdrawn comes back, nothing unrelated is touched."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import urllib.request

import pytest
from audio import tone
from browser_helpers import free_port, storybank_command
from click.testing import CliRunner

from conftest import SIGNED_FORM, story_form, wait_for, with_signed_form
from stories.cli import cli
from stories.demo import stand_in_form
from stories.records import get_story
from stories.sqlite import sqlite3


def storybank(instance, *args):
    result = CliRunner().invoke(cli, [*args, "--instance", str(instance.root)])
    assert result.exit_code == 0, result.output
    return result.output


def import_story(instance, tmp_path, title: str) -> int:
    path = tmp_path / (re.sub(r"\W+", "-", title) + ".jsonl")
    path.write_text(json.dumps(story_form(title=title, method="written", evidence_time="")) + "\n")
    storybank(instance, "import", str(path), "--organisation", "befriending-network")
    return story_ids(instance)[title]


def story_ids(instance) -> dict[str, int]:
    with sqlite3.connect(instance.store_path) as conn:
        return {title: story_id for story_id, title in conn.execute("SELECT id, title FROM stories")}


def backup(instance, tmp_path, name: str):
    output = storybank(instance, "backup", str(tmp_path / name))
    return output.split("Backup written to ")[1].strip()


def stored(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def published_titles(instance, audience: str) -> list[str]:
    with sqlite3.connect(instance.published_path(audience)) as conn:
        return [row[0] for row in conn.execute("SELECT title FROM stories")]


def test_a_later_restore_never_erases_a_story_that_took_an_erased_storys_id(instance, orgs, tmp_path):
    import_story(instance, tmp_path, "Kept all along")
    first = backup(instance, tmp_path, "first")
    erased = import_story(instance, tmp_path, "Told, then erased")
    storybank(instance, "withdraw", str(erased), "--erase", "--reason", "Storyteller asked")
    storybank(instance, "restore", first)

    newcomer = import_story(instance, tmp_path, "A new storyteller")
    assert newcomer != erased  # an id, once used, is never handed out again
    second = backup(instance, tmp_path, "second")
    output = storybank(instance, "restore", second)
    assert "re-applied 0 withdrawal(s) and 0 erasure(s)" in output
    assert set(story_ids(instance)) == {"Kept all along", "A new storyteller"}


def test_a_restore_reapplies_an_erasure_only_to_the_story_it_was_made_for(instance, orgs, tmp_path):
    """Even where the journal and the store disagree on ids (a journal older than this change), the uid decides."""
    import_story(instance, tmp_path, "Kept all along")
    erased = import_story(instance, tmp_path, "Told, then erased")
    first = backup(instance, tmp_path, "first")
    storybank(instance, "withdraw", str(erased), "--erase", "--reason", "Storyteller asked")
    output = storybank(instance, "restore", first)
    assert "re-applied 0 withdrawal(s) and 1 erasure(s)" in output
    assert set(story_ids(instance)) == {"Kept all along"}
    assert "Told, then erased" not in published_titles(instance, "public")


@pytest.mark.whisper  # the recording is transcribed as it is saved
def test_stories_told_after_the_backup_leave_no_file_and_no_published_row(client, auth, instance, tmp_path):
    first = backup(instance, tmp_path, "first")
    auth.login("reviewer")
    form = story_form(title="Told after the backup", body="", method="written", evidence_time="", identity_level="named")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    form["evidence_upload"] = (io.BytesIO(SIGNED_FORM), "signed.pdf")
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(instance.audio_dir) and stored(instance.evidence_dir)

    storybank(instance, "restore", first)
    assert stored(instance.audio_dir) == [] and stored(instance.evidence_dir) == []
    assert "Told after the backup" not in story_ids(instance)
    for audience in ("public", "commissioners"):
        assert "Told after the backup" not in published_titles(instance, audience)
    result = CliRunner().invoke(cli, ["check-no-trace", "Told after the backup", "--instance", str(instance.root)])
    assert result.exit_code == 0, result.output


# --- what a restore must not undo (issue 12, item 7), walked through the app's forms ------------


def post_story(client, **fields) -> int:
    form = story_form(**fields) if "evidence_upload" in fields else with_signed_form(story_form(**fields))
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def decide_every_name(client, db, story_id: int, decision: str = "keep", **overrides: str) -> None:
    """The reviewer's name panel, submitted with a decision for every name it lists."""
    from stories.identity import names_for_review
    from stories.records import get_story

    names = [item["name"] for item in names_for_review(get_story(db, story_id))]
    form = {f"name-{name}": overrides.get(name, decision) for name in names}
    form.update({f"name-{name}-placeholder": "[a neighbour]" for name in overrides})
    assert client.post(f"/stories/{story_id}/names", data=form).status_code == 302


def published_text(instance, audience: str = "public") -> str:
    with sqlite3.connect(instance.published_path(audience)) as conn:
        return " ".join(" ".join(str(v) for v in row) for row in conn.execute("SELECT title, body, storyteller FROM stories"))


def test_a_restore_keeps_consent_narrowed_and_names_decided_after_the_backup(client, auth, instance, db, tmp_path):
    """The attacker's item 7: P changed named to anonymous, a name decision keep -> redact; restore brought both back."""
    auth.login("reviewer")
    p = post_story(client, title="Named at first", identity_level="named")
    q = post_story(
        client,
        title="A neighbour's help",
        body="My neighbour Kyle Bradshaw helped me fill in the forms. Now Priya rings every Tuesday.",
        storyteller_reference="BF-0020",
        evidence_upload=(io.BytesIO(stand_in_form("Consent form of BF-0020, signed")), "q.pdf"),
    )
    for story_id in (p, q):
        decide_every_name(client, db, story_id)
        assert client.post(f"/stories/{story_id}/approve").status_code == 302
    assert "Margaret Holt" in published_text(instance) and "Kyle Bradshaw" in published_text(instance)
    taken = backup(instance, tmp_path, "before")

    consent_form = client.get(f"/stories/{p}/consent").get_data(as_text=True)
    kept_form = consent_form.split('name="evidence_file" value="')[1].split('"')[0]
    changed = story_form(identity_level="anonymous", kind="amended", evidence_file=kept_form)
    assert client.post(f"/stories/{p}/consent", data=changed).status_code == 302
    decide_every_name(client, db, q, **{"Kyle Bradshaw": "redact"})
    assert "Margaret Holt" not in published_text(instance) and "Kyle Bradshaw" not in published_text(instance)

    output = storybank(instance, "restore", taken)
    shown = published_text(instance) + published_text(instance, "commissioners")
    assert "Margaret Holt" not in shown  # P stays anonymous
    assert "Kyle Bradshaw" not in shown  # Q waits for a reviewer to decide on the name again
    assert "Named at first" in shown  # P is still published, as the narrower consent allows
    assert "Consent narrowed again for 1 story;" in output and "1 story back for review" in output
    restored = instance.open()  # as the app opens it when started again
    story = get_story(restored, q)
    assert story.name_decisions == {} and story.status == "submitted"  # a reviewer decides each name again
    assert b"Kyle" not in (instance.root / "withdrawals.jsonl").read_bytes()  # the journal holds no names


def test_a_restore_ends_every_session_so_a_logged_out_cookie_stays_dead(client, auth, instance, tmp_path, processes):
    from stories.auth import SESSION_COOKIE_NAME

    auth.login("worker")
    copied = client.get_cookie(SESSION_COOKIE_NAME).value
    taken = backup(instance, tmp_path, "before")
    auth.logout()
    storybank(instance, "restore", taken)

    port = free_port()  # the app started again after the restore, as the attacker did
    _, log = start(processes, instance, tmp_path, "web", "--port", str(port))
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/auth/login"), 60, "the app to start")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/stories/", headers={"Cookie": f"{SESSION_COOKIE_NAME}={copied}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # follows the redirect, if any
        assert "/auth/login" in response.url, "the logged-out cookie opened the story list again"


# --- restore and running processes (issue 12, item 7b) ------------------------------------------


def start(processes, instance, tmp_path, *args: str):
    env = {k: v for k, v in os.environ.items() if k not in ("STORYBANK_JOBS_IMMEDIATE", "STORYBANK_REDIS_URL")}
    env.update(STORYBANK_INSTANCE=str(instance.root), PYTHONUNBUFFERED="1", ORT_DISABLE_TELEMETRY="1")
    log = tmp_path / f"{args[0]}.log"
    with log.open("wb") as sink:
        return processes([*storybank_command(), *args], env=env, stdout=sink, stderr=subprocess.STDOUT), log


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def holds_lock(instance) -> bool:
    """Is some process holding the instance's running lock (as every app, worker and Datasette should)?"""
    import fcntl

    with open(instance.root / "running.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def test_restore_refuses_while_serve_runs_and_changes_nothing(instance, orgs, tmp_path, processes):
    import_story(instance, tmp_path, "Told before the backup")
    taken = backup(instance, tmp_path, "before")
    newer = import_story(instance, tmp_path, "Told while serving")
    port = free_port()
    serve, log = start(processes, instance, tmp_path, "serve", "--port", str(port), "--datasette-port", str(free_port()))
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/auth/login"), 60, f"serve to start: {log.read_text()}")

    result = CliRunner().invoke(cli, ["restore", taken, "--instance", str(instance.root)])
    assert result.exit_code == 1, result.output
    assert "stop `storybank serve`" in result.output
    assert story_ids(instance)["Told while serving"] == newer  # the store was not replaced under the app
    assert answers(f"http://127.0.0.1:{port}/auth/login") and serve.poll() is None


@pytest.mark.parametrize("command", ["web", "worker", "datasette"])
def test_each_process_started_alone_holds_the_instance_against_a_restore(instance, orgs, tmp_path, processes, command):
    taken = backup(instance, tmp_path, "before")
    args = [command, "--port", str(free_port())] if command != "worker" else [command]
    process, log = start(processes, instance, tmp_path, *args)
    wait_for(lambda: holds_lock(instance) or process.poll() is not None, 60, f"{command} to start")
    assert process.poll() is None, log.read_text()
    result = CliRunner().invoke(cli, ["restore", taken, "--instance", str(instance.root)])
    assert result.exit_code == 1 and "first, then restore" in result.output, result.output


def test_nothing_starts_while_a_restore_runs(instance, orgs, tmp_path, processes):
    from stories.instance import nothing_running

    with nothing_running(instance):
        process, log = start(processes, instance, tmp_path, "web", "--port", str(free_port()))
        assert process.wait(timeout=60) == 1
    assert "A backup is being restored" in log.read_text()
