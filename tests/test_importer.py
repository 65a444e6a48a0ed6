"""Importing existing stories: a file with any bad row is rejected whole, and says where."""

from __future__ import annotations

import csv
import json

import pytest

from conftest import SIGNED_FORM, story_form
from stories.importer import import_stories
from stories.validation import Invalid


def as_row(**overrides):
    row = story_form(**overrides)
    row["audiences"] = ";".join(row["audiences"])
    return row


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def count(db, table):
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_valid_csv_is_imported_with_consent(db, orgs, instance, tmp_path):
    path = write_csv(tmp_path / "stories.csv", [as_row(title="One"), as_row(title="Two", storyteller_reference="BF-2")])
    assert import_stories(db, path, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir) == 2
    assert count(db, "stories") == 2 and count(db, "consent_events") == 2


def test_one_bad_row_rejects_the_file_with_every_problem_and_imports_nothing(db, orgs, instance, tmp_path):
    rows = [as_row(title="Fine"), as_row(told_on="next week", witness=""), as_row(audiences="public")]
    path = write_csv(tmp_path / "stories.csv", rows)
    with pytest.raises(Invalid) as error:
        import_stories(db, path, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir)
    problems = error.value.problems
    assert "row 2, told_on" in problems and "row 2, witness" in problems and "row 3, audiences" in problems
    assert "row 1, title" not in problems
    assert count(db, "stories") == 0 and count(db, "consent_events") == 0 and count(db, "storytellers") == 0


def test_jsonl_with_an_unknown_intervention_is_rejected(db, orgs, instance, tmp_path):
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps(story_form()) + "\n" + json.dumps(story_form(interventions=["no-such-service"])) + "\n")
    with pytest.raises(Invalid) as error:
        import_stories(db, path, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir)
    assert "no-such-service" in error.value.problems["row 2, interventions"]
    assert count(db, "stories") == 0


def test_a_broken_jsonl_line_is_reported_by_number(db, orgs, instance, tmp_path):
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps(story_form()) + "\n{not json\n")
    with pytest.raises(Invalid) as error:
        import_stories(db, path, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir)
    assert "row 2" in error.value.problems


def test_a_signed_form_next_to_the_file_is_checked_and_stored(db, orgs, instance, tmp_path):
    (tmp_path / "form-1.pdf").write_bytes(SIGNED_FORM)
    (tmp_path / "form-2.pdf").write_text("not really a pdf")
    good = as_row(method="written", evidence_time="", evidence_path="form-1.pdf")
    path = write_csv(tmp_path / "good.csv", [good])
    import_stories(db, path, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir)
    assert len(list(instance.evidence_dir.iterdir())) == 1
    bad = write_csv(tmp_path / "bad.csv", [as_row(method="written", evidence_time="", evidence_path="form-2.pdf")])
    with pytest.raises(Invalid) as error:
        import_stories(db, bad, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir)
    assert "PDF or a photo" in error.value.problems["row 1, evidence_path"]
    assert count(db, "stories") == 1


def test_a_story_longer_than_the_csv_modules_default_cell_is_read(db, orgs, instance, tmp_path):
    """Attack 5: a body over 131,072 characters (an hour's transcript) ended in a traceback (_csv.Error)."""
    body = "I went to the lunch club every week and talked to people. " * 2_500  # 147,500 characters
    path = write_csv(tmp_path / "stories.csv", [as_row(title="A long one", body=body)])
    try:
        import_stories(db, path, organisation_id=orgs["a"], actor="t", evidence_dir=instance.evidence_dir)
    except Invalid as refused:  # a message about the story is fine; the file itself must be read
        assert not any("CSV" in problem for problem in refused.problems.values()), refused.problems
