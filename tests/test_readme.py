"""The README is the front door: its commands must be the CLI's, and the two make targets must exist."""

from __future__ import annotations

import re
from pathlib import Path

from stories.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_is_documented_and_every_documented_command_exists():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^storybank ([a-z-]+)", readme, flags=re.MULTILINE))
    documented |= {
        name
        for line in re.findall(r"^storybank ([a-z |-]+)#", readme, flags=re.MULTILINE)
        for name in line.replace("|", " ").split()
    }
    assert documented == set(cli.commands)


def test_the_two_commands_of_the_quick_start_are_make_targets():
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_make_command_the_readme_names_is_a_target():
    makefile = (ROOT / "Makefile").read_text()
    # As a command: at the start of a line of a code block, or in `backticks`.
    named = set(re.findall(r"(?:^|`)make ([a-z][a-z-]*)", (ROOT / "README.md").read_text(), flags=re.MULTILINE))
    assert {"run", "test", "test-fast"} <= named
    assert {target for target in named if not re.search(rf"^{target}:", makefile, flags=re.MULTILINE)} == set()
