"""The outcome tagger, used as a worker or commissioner would notice it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.tag import (
    FrameworkError,
    evaluate,
    framework_provenance,
    load_framework,
    read_examples,
    tag_text,
)
from stories import direction
from stories.cli_tools import eval_tagger_command, tag_command

DEV_SET = Path(__file__).parent / "data" / "outcomes_dev.jsonl"
HELDOUT_SET = Path(__file__).parent / "data" / "outcomes_heldout.jsonl"
# Our own short stories (not the third-party case studies) labelled for the directions eval-tagger reports.
DIRECTION_SET = Path(__file__).parent / "data" / "directions_small.jsonl"
# One text per line with the directions it must get and the domains it must not suggest.
TAGGER_CASES = Path(__file__).parent / "data" / "tagger_cases.jsonl"


def by_domain(text: str, **kwargs) -> dict:
    return {s.domain: s for s in tag_text(text, **kwargs)}


def read_cases(path: Path) -> list[dict]:
    """The cases of a JSONL file; each id is reported by name, so no two may share one."""
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [case["id"] for case in cases]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate case ids"
    return cases


def test_evidence_offsets_point_at_the_sentence_that_shows_the_change():
    text = (
        "Tom came to us in January. His GP had referred him. "
        "After two years on his sister's sofa, Tom now has his own flat. He says thank you."
    )
    tag = by_domain(text)["where_we_live"]
    assert text[tag.start : tag.end] == tag.evidence
    assert tag.evidence == "After two years on his sister's sofa, Tom now has his own flat."


@pytest.mark.parametrize("case", read_cases(TAGGER_CASES), ids=lambda case: case["id"])
def test_tagger_case(case):
    """A text in, each named domain's direction out, and the domains it must not suggest (see the case's note)."""
    tags = by_domain(case["text"])
    expected = case.get("directions", {})  # the rules' reading: offered or not, the table guards the rules
    assert {domain: tags[domain].reading for domain in expected if domain in tags} == expected, case["note"]
    assert not set(case.get("not_suggested", [])) & set(tags), case["note"]


def test_audio_times_come_from_the_segments_of_the_evidence_sentence():
    segments = [
        {"start": 0.0, "end": 4.2, "text": "My name is Dot and I go to chair yoga."},
        {"start": 4.2, "end": 9.8, "text": "I was in debt with three credit cards."},
        {"start": 9.8, "end": 15.5, "text": "Now the debt has been written off and I can pay my bills."},
    ]
    text = " ".join(s["text"] for s in segments)
    tag = by_domain(text, segments=segments)["personal_finance"]
    assert (tag.audio_start, tag.audio_end) == (9.8, 15.5)
    assert by_domain(text)["personal_finance"].audio_start is None


def test_five_ways_is_a_second_lens():
    text = "I joined the walking group and now I volunteer at the food bank on Fridays."
    tags = by_domain(text, framework=load_framework("five-ways"))
    assert {"be_active", "give"} <= set(tags)


def test_provenance_names_the_framework_version():
    ons = load_framework("ons-wellbeing")
    provenance = framework_provenance(ons)
    assert provenance["framework_id"] == "ons-wellbeing"
    assert provenance["framework_version"] == ons.version and len(ons.version) == 12
    assert provenance["spacy_version"].startswith("3.")
    assert [d.id for d in ons.domains if d.level == "person"] == [
        "personal_wellbeing",
        "relationships",
        "health",
        "what_we_do",
        "where_we_live",
        "personal_finance",
        "education_skills",
    ]


def test_a_commissioners_csv_framework_tags_with_its_own_phrases(tmp_path):
    path = tmp_path / "our-outcomes.csv"
    path.write_text(
        "id,label,description,example phrases\n"
        "warm_home,Warm home,Heating and insulation,warm flat; heating on | insulation\n"
        "company,Company,Someone to talk to,made friends;someone to talk to\n"
    )
    framework = load_framework(path)
    assert framework.id == "our-outcomes" and len(framework.version) == 12
    tags = by_domain("This winter the flat is warm because the insulation finally went in.", framework=framework)
    assert set(tags) == {"warm_home"}


def test_a_commissioners_yaml_framework_is_checked_and_used(tmp_path):
    path = tmp_path / "council.yml"
    path.write_text(
        "id: council\nname: Council outcomes\ndomains:\n"
        "  - {id: work, label: Into work, phrases: [started a job, apprenticeship]}\n"
        "  - {id: money, label: '', phrases: [debt]}\n"
    )
    with pytest.raises(FrameworkError, match=r"council\.yml: domain 2 \(money\): empty label"):
        load_framework(path)
    path.write_text(path.read_text().replace("label: ''", "label: Money"))
    tags = by_domain("After a year out of work Sam started a job at the depot.", framework=load_framework(path))
    assert set(tags) == {"work"} and tags["work"].reading == "improved"
    assert tags["work"].direction is None  # never measured on this framework, so the person is asked


def test_a_csv_framework_with_a_missing_id_is_rejected_naming_the_row(tmp_path):
    path = tmp_path / "ours.csv"
    path.write_text("id,label,description,example phrases\nhome,Home,,flat\n,Money,,debt;bills\n")
    with pytest.raises(FrameworkError, match=r"ours\.csv: row 3: missing id"):
        load_framework(path)


def test_a_duplicate_id_is_rejected_naming_both_rows(tmp_path):
    path = tmp_path / "ours.csv"
    path.write_text("id,label,description,example phrases\nhome,Home,,flat\nhome,House,,house\n")
    with pytest.raises(FrameworkError, match=r"row 3: duplicate id 'home' \(first used in row 2\)"):
        load_framework(path)


def trust(monkeypatch, table: dict[tuple[str, str], float]) -> None:
    """Pretend these readings were measured right often enough (the shipped file trusts none)."""
    monkeypatch.setattr(direction, "trust_table", lambda: table)


def test_tag_command_json_output_shape():
    result = CliRunner().invoke(tag_command, ["-", "--json"], input="I was homeless for a year. Now I have my own flat.")
    assert result.exit_code == 0, result.output
    tags = json.loads(result.output)
    keys = {"domain", "direction", "direction_confidence", "start", "end", "evidence", "confidence", "rule"}
    assert tags and all(set(tag) == keys for tag in tags)
    assert {"domain": "where_we_live", "evidence": "Now I have my own flat."}.items() <= tags[0].items()


STORY = (
    "After my wife died I was so lonely I stopped going out. "
    "Now I go to the lunch club every week and I have made good friends there. "
    "I finally have my own flat near my daughter."
)


def test_no_reading_held_up_on_stories_never_tuned_on_so_every_direction_is_null():
    # Housing and skills told as better were right 13 of 15 times each on the tune split, then 10 of 13
    # and 10 of 12 on the frozen one: below 85%, so the tagger asks rather than guesses.
    assert direction.trust_table() == {}
    result = CliRunner().invoke(tag_command, ["-", "--json"], input=STORY)
    assert result.exit_code == 0, result.output
    tags = json.loads(result.output)
    assert {tag["domain"] for tag in tags} == {"relationships", "what_we_do", "where_we_live"}
    assert all(tag["direction"] is None and tag["direction_confidence"] is None for tag in tags)
    assert CliRunner().invoke(tag_command, ["-"], input=STORY).output.count("What changed?") == 3


def test_a_trusted_reading_is_offered_with_its_own_confidence_and_the_rest_stay_null(monkeypatch):
    trust(monkeypatch, {("better", "where_we_live"): 0.9})
    tags = {tag["domain"]: tag for tag in json.loads(CliRunner().invoke(tag_command, ["-", "--json"], input=STORY).output)}
    assert (tags["where_we_live"]["direction"], tags["where_we_live"]["direction_confidence"]) == ("improved", 0.9)
    assert tags["relationships"]["direction"] is None and tags["relationships"]["direction_confidence"] is None
    plain = CliRunner().invoke(tag_command, ["-"], input=STORY).output
    assert "improved (90% right)" in plain and plain.count("What changed?") == 2
    five_ways = load_framework("five-ways")  # never measured: nothing is offered whatever the table says
    assert all(s.direction is None for s in tag_text(STORY, framework=five_ways))


def test_a_frameworks_folder_without_a_trust_file_offers_no_direction(tmp_path, monkeypatch):
    own = tmp_path / "frameworks"
    shutil.copytree(Path(__file__).parent.parent / "frameworks", own)
    (own / direction.TRUST_FILE).write_text('{"basis": "better", "domain": "*", "right": 9, "suggested": 10}\n')
    monkeypatch.setenv("STORYBANK_FRAMEWORKS_DIR", str(own))
    direction.trust_table.cache_clear()
    try:
        assert direction.trusted("health", "better") == 0.9  # read from the folder given
        (own / direction.TRUST_FILE).unlink()
        direction.trust_table.cache_clear()
        assert direction.trust_table() == {} and direction.trusted("health", "better") is None
    finally:
        direction.trust_table.cache_clear()


def test_eval_tagger_reports_the_precision_and_coverage_of_suggested_directions(monkeypatch):
    result = CliRunner().invoke(eval_tagger_command, [str(DIRECTION_SET), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["suggested_direction"] == {"precision": None, "right": 0, "suggested": 0, "coverage": 0.0}
    text = CliRunner().invoke(eval_tagger_command, [str(DIRECTION_SET)]).output
    assert "suggested directions: precision none suggested (0 of 0 right), coverage 0.000 of 12 domains both marked" in text
    # Were housing and skills told as better trusted, they would be right in 3 of 4 here (a course started
    # and then dropped, labelled mixed, reads as better), and the other 8 of the 12 pairs would be asked.
    trust(monkeypatch, {("better", "where_we_live"): 0.9, ("better", "education_skills"): 0.9})
    offered = json.loads(CliRunner().invoke(eval_tagger_command, [str(DIRECTION_SET), "--json"]).output)
    assert offered["suggested_direction"] == {"precision": 0.75, "right": 3, "suggested": 4, "coverage": 0.333}
    text = CliRunner().invoke(eval_tagger_command, [str(DIRECTION_SET)]).output
    assert "suggested directions: precision 0.750 (3 of 4 right), coverage 0.333 of 12 domains both marked" in text


def test_importing_the_tagger_does_not_load_spacy():
    code = "import sys, pipelines.tag; print('spacy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent
    )
    assert out.stdout.strip() == "False"


def test_development_set_stays_above_the_targets():
    report = evaluate(read_examples(str(DEV_SET)))
    assert report["examples"] >= 70
    assert report["micro"]["f1"] >= 0.85
    assert report["direction_accuracy"] >= 0.80


def test_held_out_stories_stay_above_their_floor():
    # Written blind in three batches (see "batch"); no longer blind, so this guards against
    # regressions rather than measuring accuracy on unseen stories.
    report = evaluate(read_examples(str(HELDOUT_SET)))
    assert report["examples"] >= 120
    assert report["micro"]["f1"] >= 0.82
    assert report["direction_accuracy"] >= 0.70
