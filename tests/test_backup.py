"""Backup and restore, run with the real commands: nothing withdrawn comes back, nothing unrelated is touched."""

from __future__ import annotations

import io
import json
import re

from audio import tone
from click.testing import CliRunner

from conftest import SIGNED_FORM, story_form
from stories.cli import cli
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
