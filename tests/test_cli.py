"""The `storybank` command, run as a user would."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from conftest import story_form
from stories.cli import cli


def run(instance, *args, input=None):
    return CliRunner().invoke(cli, [*args, "--instance", str(instance.root)], input=input)


def test_init_users_and_publish(tmp_path, monkeypatch):
    monkeypatch.delenv("STORYBANK_INSTANCE", raising=False)
    root = tmp_path / "fresh"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--instance", str(root)]).exit_code == 0
    result = runner.invoke(cli, ["organisations", "add", "Leeds Befriending", "--instance", str(root)])
    assert result.exit_code == 0 and "leeds-befriending" in result.output
    result = runner.invoke(
        cli,
        ["users", "add", "asha", "--role", "worker", "--organisation", "leeds-befriending", "--instance", str(root)],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        [
            "users",
            "add",
            "bo",
            "--role",
            "worker",
            "--organisation",
            "leeds-befriending",
            "--password",
            "short",
            "--instance",
            str(root),
        ],
    )
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    result = runner.invoke(cli, ["publish", "--instance", str(root)])
    assert "commissioners: 0 stories" in result.output and "public: 0 stories" in result.output


def test_import_reports_each_problem_and_changes_nothing(instance, orgs, tmp_path):
    path = tmp_path / "bad.csv"
    row = story_form(witness="")
    row["audiences"] = "team;public"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    result = run(instance, "import", str(path), "--organisation", "befriending-network")
    assert result.exit_code == 1
    assert "row 1, witness: Witness is required." in result.output
    assert "Nothing was changed" in result.output


def test_commands_on_a_missing_instance_say_how_to_start(tmp_path):
    result = CliRunner().invoke(cli, ["publish", "--instance", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "storybank init" in result.output


def test_demo_meets_a_new_user_with_a_living_system(tmp_path, monkeypatch):
    import sqlite3

    import yaml

    from stories.demo import DEMO_FILE

    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "1")
    root = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--instance", str(root)])
    assert result.exit_code == 0, result.output
    assert "30 stories" in result.output and "storybank-demo" in result.output
    withdrawn = next(s for s in yaml.safe_load(DEMO_FILE.read_text())["stories"] if s.get("withdrawn"))
    for audience in ("public", "commissioners"):
        with sqlite3.connect(root / "published" / f"{audience}.db") as conn:
            titles = {row[0] for row in conn.execute("SELECT title FROM stories")}
            levels = {row[0] for row in conn.execute("SELECT verification FROM stories")}
            quotes = conn.execute("SELECT count(*) FROM story_outcomes WHERE evidence IS NOT NULL").fetchone()[0]
        assert titles and withdrawn["title"] not in titles
        assert "Checked with the storyteller and verified by a second person" in levels and quotes > 0
    again = CliRunner().invoke(cli, ["demo", "--instance", str(root)])
    assert "0 stories" in again.output  # loading it twice adds nothing
