"""The real-story evaluation set: labels we may keep (the texts are third-party copyright), and its script."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from stories.direction import TRUSTED_PRECISION, trust_path, trust_table
from stories.outcomes import DIRECTIONS, person_level_domains

ROOT = Path(__file__).parent.parent
LABELS = ROOT / "bench" / "data" / "real-labels.jsonl"


def test_every_label_row_has_an_address_a_hash_a_split_and_labels_in_the_guide():
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 150
    assert len({row["url"] for row in rows}) == len(rows), "one row per story"
    domains = set(person_level_domains())
    for row in rows:
        assert re.match(r"https?://\S+$", row["url"]), row
        assert re.fullmatch(r"[0-9a-f]{64}", row["sha256"]), row["url"]
        assert row["labels"] and set(row["labels"]) <= domains and set(row["labels"].values()) <= set(DIRECTIONS), row["url"]
        # the split was fixed before any rule was changed, by a hash of the address alone
        frozen = int(hashlib.sha256(row["url"].encode()).hexdigest(), 16) % 3 == 0
        assert row["split"] == ("frozen" if frozen else "tune"), row["url"]
    assert sum(row["split"] == "frozen" for row in rows) >= 50


def test_without_the_texts_the_script_says_how_to_rebuild_them(tmp_path):
    missing = tmp_path / "real-stories.jsonl"
    result = subprocess.run(
        [sys.executable, "bench/real_stories.py", "--texts", str(missing)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"No texts for the real stories at {missing}" in result.stderr
    assert "bench/data/real-labels.jsonl" in result.stderr and '"sha256"' in result.stderr


def test_a_changed_page_is_reported_and_left_out(tmp_path):
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = tmp_path / "real-stories.jsonl"
    texts.write_text(json.dumps({"url": rows[0]["url"], "text": "Not the words that were labelled."}) + "\n")
    result = subprocess.run(
        [sys.executable, "bench/real_stories.py", "--texts", str(texts), "--split", "all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"0 stories scored; {len(rows) - 1} without a text, 1 changed since labelled" in result.stdout
    assert f"changed: {rows[0]['url']}" in result.stdout


def test_a_reading_is_trusted_only_if_it_held_up_on_stories_never_tuned_on():
    entries = [json.loads(line) for line in trust_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    assert entries, "the candidates and what the frozen split made of them are kept"
    for entry in entries:
        # a candidate: right often enough on the tune split to be worth measuring once on the frozen one
        assert entry["tune_suggested"] >= 10 and entry["tune_right"] / entry["tune_suggested"] >= TRUSTED_PRECISION
    held = {(e["basis"], e["domain"]) for e in entries if e["right"] / e["suggested"] >= TRUSTED_PRECISION}
    assert set(trust_table()) == held
