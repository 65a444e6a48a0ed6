"""The identity rules' declared version: stored versions are redone when the rules change, and only then."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from redaction_golden import GOLDEN, REGENERATE, load, outputs

from stories.identity import RULES_VERSION, rule_data_files

ROOT = Path(__file__).resolve().parent.parent
RULES_MODULES = ("folding", "names", "recorded_names", "redact", "sound_alike", "identity")


def test_the_rules_publish_what_the_golden_file_says():
    golden = load()
    assert golden["rules_version"] == RULES_VERSION, (
        f"RULES_VERSION is {RULES_VERSION} but {GOLDEN.name} was made with version {golden['rules_version']}: "
        f"regenerate it with {REGENERATE}"
    )
    current = outputs()
    changed = [f"{now['covers']} ({now['level']})" for now, then in zip(current, golden["cases"], strict=False) if now != then]
    assert current == golden["cases"], (
        f"the redaction rules changed: bump RULES_VERSION in stories/identity.py and regenerate with {REGENERATE}. "
        f"Changed: {'; '.join(changed) or 'the list of cases'}"
    )


def test_the_golden_file_covers_every_level_and_what_hides_a_name():
    cases = load()["cases"]
    assert {case["level"] for case in cases} == {"named", "first_name", "pseudonym", "anonymous"}
    covered = " ".join(case["covers"] for case in cases)
    for feature in ("surname", "hyphenated", "spelled out", "initials", "possessive", "third parties", "contacts", "told aloud"):
        assert feature in covered
    assert any(case["told_aloud"] for case in cases) and any(not case["names"] for case in cases)


def _key_in_copy(tmp_path: Path, edit) -> str:
    """The version key of one story, computed by a fresh Python over a copy of the code and data with `edit` applied."""
    copy = tmp_path / "copy"
    for folder in ("stories", "frameworks"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    edit(copy / "stories")
    # The copy's stories package is imported first, so the tests' helper that builds a story uses it too.
    code = (
        "import json, sys; from stories.identity import version_key;"
        f"sys.path.append({str(ROOT / 'tests')!r}); from redaction_golden import a_story;"
        "story = json.loads(sys.argv[1]); story['storyteller_names'] = tuple(story['storyteller_names']);"
        "print(version_key(a_story(**story)))"
    )
    story = {
        "title": "Margaret's year",
        "body": "Margaret Holt met Priya.",
        "storyteller_names": ["Margaret Holt"],
        "pseudonym_seed": "seed",
        "source": "text",
        "name_decisions": {},
        "organisation": "Aireside",
    }
    run = subprocess.run([sys.executable, "-c", code, json.dumps(story)], cwd=copy, capture_output=True, text=True, check=True)
    return run.stdout.strip()


def test_a_comment_in_a_rules_module_leaves_the_key_alone(tmp_path):
    def add_comments(stories: Path) -> None:
        for module in RULES_MODULES:
            path = stories / f"{module}.py"
            path.write_text(path.read_text(encoding="utf-8") + "\n# A comment changes no rule.\n", encoding="utf-8")

    assert _key_in_copy(tmp_path / "a", add_comments) == _key_in_copy(tmp_path / "b", lambda stories: None)


def test_a_word_list_edited_changes_the_key(tmp_path):
    def add_a_name(stories: Path) -> None:
        path = stories / "data" / "given_names.txt"
        path.write_text(path.read_text(encoding="utf-8") + "Zebedeeqa\n", encoding="utf-8")

    assert _key_in_copy(tmp_path / "a", add_a_name) != _key_in_copy(tmp_path / "b", lambda stories: None)


def test_every_data_file_the_rules_read_is_in_the_key():
    # Record every file a fresh Python opens while publishing the golden stories.
    code = (
        "import builtins, io, pathlib, sys; read = set(); real_open = io.open\n"
        "def spy(file, *a, **k):\n    read.add(str(pathlib.Path(file).resolve())); return real_open(file, *a, **k)\n"
        "builtins.open = io.open = spy\n"
        "sys.path.insert(0, 'tests'); import redaction_golden; redaction_golden.outputs()\n"
        "print('\\n'.join(sorted(read)))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    data = (ROOT / "stories" / "data").resolve()
    read = {Path(line) for line in run.stdout.split()}
    lists = {path for path in read if path.is_relative_to(data)}
    assert lists, "the spy saw no word list read"
    assert lists <= {path.resolve() for path in rule_data_files()}, lists
