"""The storyteller's pages say everything through one catalogue, so a Welsh one needs no code change."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "stories" / "translations" / "messages.pot"
PAGES = sorted((ROOT / "templates" / "mine").glob("*.html"))
WORKERS_OWN = {"_receipt_button.html"}  # on the worker's story page, which is not converted


def msgids(text: str) -> set[str]:
    return set(re.findall(r'^msgid "(.+)"$', text, flags=re.MULTILINE))


def test_the_catalogue_holds_every_string_the_pages_show(tmp_path):
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [pybabel, "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "--no-location", "--omit-header", "-o", fresh, "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert msgids(fresh.read_text()) == msgids(CATALOGUE.read_text()), "run the pybabel extract line in the README"


def test_no_words_are_written_into_the_pages_outside_the_catalogue():
    for page in PAGES:
        if page.name in WORKERS_OWN:
            continue
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", page.read_text(), flags=re.DOTALL)
        text = re.sub(r"<[^>]*>", " ", text)
        leftover = re.findall(r"[A-Za-z]{2,}", text)
        assert not leftover, f"{page.name} shows words outside the catalogue: {leftover[:5]}"
