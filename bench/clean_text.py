"""How long does migration m011 (stored text cleaned, every span moved) take on a large working store?

Builds a store migrated up to m011 with N typed stories (100,000 by default) of about 250 words, half
of them with the CRLF line breaks a browser submits, an emoji and an accented word, three tags each
pointing at words after the line breaks; then times m011 and checks every tag still holds its words.

    .venv/bin/python bench/clean_text.py              # 100,000 stories
    .venv/bin/python bench/clean_text.py --stories 10000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import report
from stories import migrations
from stories.db import connect

PARAGRAPH = (
    "After my hip operation I stopped going out, even to the shop on the corner. "
    "Now the volunteer rings me every Tuesday and we go to the Friday group together. "
) * 3
WORDS = "we go to the Friday group together"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000)
    stories = parser.parse_args().stories
    db = connect(Path(tempfile.mkdtemp()) / "store.db")
    with mock.patch.object(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if not m[0].startswith("m011_")]):
        migrations.migrate(db)
    db.execute("INSERT INTO organisations (id, slug, name, created_at) VALUES (1, 'o', 'O', 'now')")
    db.execute(
        "INSERT INTO storytellers (id, organisation_id, reference, pseudonym_seed, created_at) VALUES (1, 1, 'R', 's', 'now')"
    )
    with db.conn:
        for number in range(stories):
            body = ("\r\n\r\n" if number % 2 == 0 else "\n\n").join([PARAGRAPH] * 3) + " Café 🙂."
            story_id = db.execute(
                "INSERT INTO stories (organisation_id, storyteller_id, title, body, told_on, created_at, updated_at)"
                " VALUES (1, 1, 't', ?, '2026-01-01', 'now', 'now')",
                [body],
            ).lastrowid
            for paragraph in range(3):
                start = body.index(WORDS, len(PARAGRAPH) * paragraph)
                db.execute(
                    'INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, start, "end",'
                    " evidence, origin, status, created_at) VALUES (?, 'ons-wellbeing', 'v', ?, 'improved', ?, ?, ?,"
                    " 'machine', 'confirmed', 'now')",
                    [story_id, f"domain{paragraph}", start, start + len(WORDS), WORDS],
                )
    started = time.monotonic()
    applied = migrations.migrate(db)
    took = time.monotonic() - started
    moved = db.execute(
        "SELECT count(*) FROM outcome_tags JOIN stories ON stories.id = story_id"
        ' WHERE substr(body, start + 1, "end" - start) != evidence'
    ).fetchone()[0]
    print(f"{', '.join(applied)}: {took:.1f} s for {stories:,} stories, half of them with CRLF")
    print(f"tags whose offsets no longer hold their words: {moved}")
    report(f"migration m011 (text cleaned, spans moved), {stories:,} stories", f"{took:.1f} s")
    report(f"tags whose offsets no longer hold their words after m011, {stories:,} stories", str(moved), "0", moved == 0)


if __name__ == "__main__":
    main()
