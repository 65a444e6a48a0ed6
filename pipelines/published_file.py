"""The tables of a published file: what commissioners and the public can search and facet.

Written into a fresh file by pipelines/publish.py. Denormalised on purpose: each outcome row
carries the facets a commissioner filters by (domain, direction, intervention, provider,
commissioning body, contract, area, year, verification), so Datasette needs no joins.
Counts (per intervention, per outcome) are computed in SQL from the rows written, so a file
a withdrawn story is taken out of (see `remove_stories`) counts exactly as a full rebuild would.

Counts are not suppressed, in any file: every row a count is made from is in the same file for
the same visitors, so hiding a small count would hide nothing its rows do not show. What can
point to a person is the combination of details on one row (the day told, the area, a small
intervention), so the public file carries the month a story was told, never the day.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from stories import delivery, outcomes
from stories.assurance import LEVELS
from stories.clock import now_iso
from stories.consent import PUBLIC
from stories.interventions import FIELDS as INTERVENTION_FIELDS
from stories.search import FAMILIES_COLUMN, WORDS_COLUMN, VocabularyWord, families
from stories.sqlite import FTS5_SECURE_DELETE

UNVERIFIED = LEVELS[()]
_IDS = "(SELECT value FROM json_each(?))"  # a JSON list of ids (or names) passed as one parameter
NO_INTERVENTION = "(no intervention linked)"
FTS_HASH_BYTES = 64 << 20  # see _finish
TOKENIZER = "unicode61 remove_diacritics 2"  # how the search index cuts text into words
# rewrite_search_index's placeholder: a row id no story has, and a word no story needs to keep.
PLACEHOLDER_ROWID, INDEX_PLACEHOLDER = -1, "storybankplaceholder"
FAMILIES_KEY = "families"  # a row's search families, when the publisher has worked them out already

COLUMNS = {
    "stories": (
        "id",
        "title",
        "body",
        "told_on",
        "year",
        "organisation",
        "area",
        "storyteller",
        "identity_level",
        "told_as",
        "verification",
        "interventions",
        "providers",
        "commissioners",
        "contracts",
        "outcomes",
        "most_significant_change",
    ),
    # An intervention's own fields (stories/interventions.py), its provider after its name.
    "interventions": ("id", "name", "provider", *(field for field in INTERVENTION_FIELDS if field != "name")),
    "story_outcomes": (
        "story_id",
        "title",
        "domain",
        "domain_label",
        "direction",
        "provenance",  # who stands behind it: the storyteller said, the worker judged, a reviewer confirmed
        "evidence",
        "contribution",
        "contribution_statement",
        "intervention_id",
        "intervention",
        "provider",
        "commissioner",
        "contract_ref",
        "organisation",
        "area",
        "year",
        "verification",
        "framework",
    ),
    "story_interventions": ("story_id", "intervention_id"),
    "stories_fts_stems": ("id", "stems"),
    "outcome_vocabulary": ("word", "family", "framework", "framework_name", "domain", "domain_label", "rule"),
}
SCHEMA = [
    """CREATE TABLE stories (
        id INTEGER PRIMARY KEY, title TEXT, body TEXT, told_on TEXT, year INTEGER, organisation TEXT, area TEXT,
        storyteller TEXT, identity_level TEXT, told_as TEXT, verification TEXT, interventions TEXT, providers TEXT,
        commissioners TEXT, contracts TEXT, outcomes TEXT, most_significant_change TEXT)""",
    "CREATE TABLE interventions (id INTEGER PRIMARY KEY, "
    + ", ".join(f"{column} TEXT" for column in COLUMNS["interventions"][1:])
    + ", stories INTEGER)",
    """CREATE TABLE story_outcomes (
        id INTEGER PRIMARY KEY, story_id INTEGER REFERENCES stories(id), title TEXT, domain TEXT, domain_label TEXT,
        direction TEXT, provenance TEXT, evidence TEXT, contribution TEXT, contribution_statement TEXT,
        intervention_id INTEGER REFERENCES interventions(id), intervention TEXT, provider TEXT, commissioner TEXT,
        contract_ref TEXT, organisation TEXT, area TEXT, year INTEGER, verification TEXT, framework TEXT)""",
    """CREATE TABLE story_interventions (
        story_id INTEGER REFERENCES stories(id), intervention_id INTEGER REFERENCES interventions(id),
        PRIMARY KEY (story_id, intervention_id))""",
    """CREATE TABLE outcome_summary (
        domain_label TEXT, direction TEXT, intervention TEXT, verified_stories INTEGER, stories INTEGER)""",
    "CREATE TABLE publication (audience TEXT, built_at TEXT, stories INTEGER, valid_until TEXT)",
    # The search index (stories/search.py): each story's words as written, and each word's family. The
    # families are kept as text so a withdrawal can tell the index exactly what to forget.
    "CREATE TABLE stories_fts_stems (id INTEGER PRIMARY KEY REFERENCES stories(id), stems TEXT)",
    f"""CREATE VIEW stories_fts_search AS
        SELECT stories.id, coalesce(stories.title, '') || char(10) || coalesce(stories.body, '') AS {WORDS_COLUMN},
            stories_fts_stems.stems AS {FAMILIES_COLUMN}
        FROM stories JOIN stories_fts_stems ON stories_fts_stems.id = stories.id""",
    f"""CREATE VIRTUAL TABLE stories_fts USING fts5({WORDS_COLUMN}, {FAMILIES_COLUMN}, content='stories_fts_search',
        content_rowid='id', tokenize='{TOKENIZER}')""",
    # The words each outcome is named by in the frameworks in use: a query word found here names an outcome.
    """CREATE TABLE outcome_vocabulary (word TEXT, family TEXT, framework TEXT, framework_name TEXT, domain TEXT,
        domain_label TEXT, rule TEXT)""",
]


def write_tables(
    db: sqlite_utils.Database,
    audience: str,
    rows: list[dict[str, Any]],
    interventions: list[Mapping[str, Any]],
    vocabulary: Iterable[VocabularyWord] = (),
    commitments: Iterable[Mapping[str, Any]] = (),
) -> None:
    """Fill a fresh file from the published form of each story, and the outcome vocabulary searches read."""
    by_id = {item["id"]: item for item in interventions}
    vocabulary = list(vocabulary)
    rows = _labelled(rows, {(word.framework, word.domain): word.domain_label for word in vocabulary})
    with db.atomic():
        _create(db)
        delivery.write_commitments(db, commitments, by_id)  # what each contract promised: stories/delivery.py
        _insert(db, "interventions", (item for item in interventions))
        _insert(db, "stories", (_story_row(row, audience) for row in rows))
        _insert(db, "stories_fts_stems", ({"id": row["id"], "stems": _families(row)} for row in rows))
        _insert(db, "outcome_vocabulary", (dataclasses.asdict(word) for word in vocabulary))
        _insert(db, "story_outcomes", (_outcome_row(row, outcome, by_id) for row in rows for outcome in row["outcomes"]))
        _insert(
            db,
            "story_interventions",
            ({"story_id": row["id"], "intervention_id": item["id"]} for row in rows for item in row["interventions"]),
        )
        _finish(db, audience, valid_until=min((row["review_on"] for row in rows), default=None))


def remove_stories(db: sqlite_utils.Database, audience: str, story_ids: Iterable[int]) -> int:
    """Take stories out of a published file so that no trace of them is left; returns stories left.

    A withdrawal's fast path, on the file where it lies (publish._change_in_place, one transaction),
    opened with `secure_delete` on so every freed byte is zeroed. A plain delete from the search index only
    adds a "deleted" marker and leaves the words in the index's blocks. With SQLite 3.42 or later,
    FTS5's 'secure-delete' option rewrites just the blocks that hold the story's words (about
    0.03 s): no search finds the story from then on. The keys the index finds its blocks by can still
    hold its words, so the caller then writes the index out afresh (`rewrite_search_index`, which
    with an older SQLite also applies the "deleted" markers). Counts are recomputed from the rows
    left, as a full build would.
    """
    with db.atomic():
        groups = _take_out(db, story_ids)
        _count(db, audience, groups)
        stories = db.execute("SELECT count(*) FROM stories").fetchone()[0]
        db.execute("UPDATE publication SET stories = ?, built_at = ?", [stories, now_iso()])
    return stories


def indexed_texts(db: sqlite_utils.Database, story_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """The words the search index holds for each of these stories (as it was told them)."""
    rows = db.execute(
        f"SELECT id, {WORDS_COLUMN}, {FAMILIES_COLUMN} FROM stories_fts_search WHERE id IN {_IDS}",
        [json.dumps(sorted(set(story_ids)))],
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def words_may_linger(db: sqlite_utils.Database, texts: list[tuple[str, str]]) -> bool:
    """After these texts were taken out of the search index, could any of their words still be read in it?
    Without FTS5's 'secure-delete' (a SQLite older than 3.42) they are all still in its blocks, marked
    deleted; with it, only a block's key can keep one (`_keys_would_tell`). Then `rewrite_search_index`."""
    return bool(texts) and (not FTS5_SECURE_DELETE or _keys_would_tell(db, texts))


def _keys_would_tell(db: sqlite_utils.Database, texts: list[tuple[str, str]]) -> bool:
    """Would a key of the search index's blocks (`stories_fts_idx`: the first word on a block, or enough
    of it to tell it from the block before) give away one of the words of these texts, now taken out?

    A key gives a word away when it begins that word and no word the index still holds. The words are
    cut as the index cuts them (a scratch index in memory); for each no longer held, only the one key
    per segment that could begin it is looked at. Most withdrawals find none, and skip the rewrite.
    """
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.gone_text USING fts5(a, b, tokenize='{TOKENIZER}')")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.gone_words USING fts5vocab(temp, gone_text, 'row')")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.held_words USING fts5vocab(main, stories_fts, 'row')")
    db.execute("DELETE FROM temp.gone_text")
    db.conn.executemany("INSERT INTO temp.gone_text (a, b) VALUES (?, ?)", texts)
    gone = [row[0] for row in db.execute("SELECT term FROM temp.gone_words")]
    segments = [row[0] for row in db.execute("SELECT DISTINCT segid FROM stories_fts_idx")]

    def held_beginning(start: str) -> bool:
        found = db.execute("SELECT 1 FROM temp.held_words WHERE term >= ? AND term < ? LIMIT 1", [start, start + "\U0010ffff"])
        return found.fetchone() is not None

    try:
        for word in gone:
            if db.execute("SELECT 1 FROM temp.held_words WHERE term = ?", [word]).fetchone():
                continue  # still in the index (another story has it): a key may begin it
            for segment in segments:
                key = db.execute(
                    "SELECT term FROM stories_fts_idx WHERE segid = ? AND term <= ? ORDER BY term DESC LIMIT 1",
                    [segment, b"0" + word.encode()],
                ).fetchone()
                start = bytes(key[0])[1:].decode("utf-8", "replace") if key else ""
                if start and word.startswith(start) and not held_beginning(start):
                    return True
        return False
    finally:
        db.execute("DELETE FROM temp.gone_text")


def rewrite_search_index(db: sqlite_utils.Database) -> None:
    """Write the search index out afresh from its own entries, after words have left it.

    FTS5's 'secure-delete' takes a story's words out of the index's blocks, but the key each block is
    found by (the first word on it, or enough of it) stays in the index's `stories_fts_idx` table
    until the index is written again: an outside attack read whole withdrawn words there. 'optimize'
    merges the index into one new segment, keyed by the words left, nothing tokenised again (about
    2.5 s at 100,000 stories); the old blocks are freed, and so zeroed. It does nothing to an index
    already in one segment with nothing to merge, so a placeholder entry (no story's words), added
    first and taken out after, gives it a second segment to merge.
    """
    placeholder = [PLACEHOLDER_ROWID, INDEX_PLACEHOLDER, INDEX_PLACEHOLDER]
    db.execute(f"INSERT INTO stories_fts (rowid, {WORDS_COLUMN}, {FAMILIES_COLUMN}) VALUES (?, ?, ?)", placeholder)
    db.execute("INSERT INTO stories_fts (stories_fts) VALUES ('optimize')")
    db.execute(
        f"INSERT INTO stories_fts (stories_fts, rowid, {WORDS_COLUMN}, {FAMILIES_COLUMN}) VALUES ('delete', ?, ?, ?)", placeholder
    )


def _take_out(db: sqlite_utils.Database, story_ids: Iterable[int]) -> list[tuple[str, str]]:
    """Every row and index entry of these stories, gone without a trace; returns the (domain, direction)
    groups whose counts that changes (the caller recounts them)."""
    ids = json.dumps(sorted(set(story_ids)))
    with db.atomic():
        groups = db.execute(
            f"SELECT DISTINCT domain, direction FROM story_outcomes WHERE framework = ? AND story_id IN {_IDS}",
            [outcomes.DEFAULT_FRAMEWORK, ids],
        ).fetchall()
        if FTS5_SECURE_DELETE:
            db.execute("INSERT INTO stories_fts (stories_fts, rank) VALUES ('secure-delete', 1)")
        # An external-content index forgets a row only when told the exact words it indexed.
        db.execute(
            f"INSERT INTO stories_fts (stories_fts, rowid, {WORDS_COLUMN}, {FAMILIES_COLUMN})"
            f" SELECT 'delete', id, {WORDS_COLUMN}, {FAMILIES_COLUMN} FROM stories_fts_search WHERE id IN {_IDS}",
            [ids],
        )
        db.execute(f"DELETE FROM stories_fts_stems WHERE id IN {_IDS}", [ids])
        db.execute(f"DELETE FROM story_outcomes WHERE story_id IN {_IDS}", [ids])
        db.execute(f"DELETE FROM story_interventions WHERE story_id IN {_IDS}", [ids])
        db.execute(f"DELETE FROM stories WHERE id IN {_IDS}", [ids])
    return [tuple(group) for group in groups]


def replace_stories(
    db: sqlite_utils.Database,
    audience: str,
    story_ids: Iterable[int],
    rows: list[dict[str, Any]],
    interventions: list[Mapping[str, Any]],
) -> int:
    """Bring these stories in a published file up to date: each held copy taken out as a withdrawal
    takes it out (no trace of the old words), then `rows`, their published form now, put in.

    A change's fast path (publish by change), in the transaction publish._change_in_place holds. Only
    these stories are indexed; counts are recomputed for their groups, as a full build would count
    them. Returns the stories in the file.
    """
    ids = sorted(set(story_ids) | {row["id"] for row in rows})
    held = [row[0] for row in db.execute(f"SELECT id FROM stories WHERE id IN {_IDS}", [json.dumps(ids)])]
    old_groups = _take_out(db, held) if held else []
    by_id = {item["id"]: item for item in interventions}
    new_ids = json.dumps([row["id"] for row in rows])
    # Labelled by the file's own vocabulary, as the full build that wrote it labelled every other outcome.
    vocabulary = db.execute("SELECT DISTINCT framework, domain, domain_label FROM outcome_vocabulary").fetchall()
    rows = _labelled(rows, {(framework, domain): label for framework, domain, label in vocabulary})
    with db.atomic():
        # Interventions are few and hold no one's words: all of them written again, as a full build would.
        db.execute("DELETE FROM interventions")
        _insert(db, "interventions", (item for item in interventions))
        _insert(db, "stories", (_story_row(row, audience) for row in rows))
        _insert(db, "stories_fts_stems", ({"id": row["id"], "stems": _families(row)} for row in rows))
        _insert(db, "story_outcomes", (_outcome_row(row, outcome, by_id) for row in rows for outcome in row["outcomes"]))
        _insert(
            db,
            "story_interventions",
            ({"story_id": row["id"], "intervention_id": item["id"]} for row in rows for item in row["interventions"]),
        )
        db.execute(
            f"INSERT INTO stories_fts (rowid, {WORDS_COLUMN}, {FAMILIES_COLUMN})"
            f" SELECT id, {WORDS_COLUMN}, {FAMILIES_COLUMN} FROM stories_fts_search WHERE id IN {_IDS}",
            [new_ids],
        )
        groups = db.execute(
            f"SELECT DISTINCT domain, direction FROM story_outcomes WHERE framework = ? AND story_id IN {_IDS}",
            [outcomes.DEFAULT_FRAMEWORK, new_ids],
        ).fetchall()
        _count(db, audience, sorted(set(old_groups) | {tuple(group) for group in groups}))  # once, old groups and new
        stories = db.execute("SELECT count(*) FROM stories").fetchone()[0]
        # The first review date can only come sooner: a later one is found by the next full build (fail closed).
        earliest = min((row["review_on"] for row in rows), default=None)
        db.execute(
            "UPDATE publication SET stories = ?, built_at = ?,"
            " valid_until = CASE WHEN ? IS NOT NULL AND (valid_until IS NULL OR ? < valid_until) THEN ? ELSE valid_until END",
            [stories, now_iso(), earliest, earliest, earliest],
        )
    return stories


def _create(db: sqlite_utils.Database) -> None:
    for statement in SCHEMA:
        db.execute(statement)


def _insert(db: sqlite_utils.Database, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    columns = COLUMNS[table]
    db.conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        ([row[column] for column in columns] for row in rows),
    )


def _finish(db: sqlite_utils.Database, audience: str, valid_until: str | None) -> None:
    """Counts, search index and the file's own description, all derived from the rows now in it."""
    _count(db, audience)
    # FTS5 writes out what it has indexed each time it holds 1 MB (its default 'hashsize'), then merges those
    # segments again and again: at 100,000 stories 64 MB halves the index's build (10.7 s CPU to 6.2 s a
    # file; 256 MB gained nothing more). Only how the index is written changes: the same words, the same
    # searches; the setting stays in the file's stories_fts_config, used by a change's few rows too.
    db.execute("INSERT INTO stories_fts (stories_fts, rank) VALUES ('hashsize', ?)", [FTS_HASH_BYTES])
    db.execute("INSERT INTO stories_fts (stories_fts) VALUES ('rebuild')")  # the index, from stories_fts_search
    db["outcome_vocabulary"].create_index(["family"])
    # Search results are listed newest first: the index lets SQLite walk them in that order.
    db["stories"].create_index(["told_on"])
    # A change recounts its stories' (domain, direction) groups from this index alone (0.17 s a group at
    # 100,000 stories reading the rows themselves).
    db["story_outcomes"].create_index(["domain", "direction", "framework", "domain_label", "intervention", "verification"])
    db["story_interventions"].create_index(["intervention_id"])  # each intervention's count, after a change
    db["story_outcomes"].create_index(["story_id"])  # a story's outcomes: Datasette's row page, and a withdrawal
    db["story_outcomes"].create_index(["intervention_id"])
    db["story_outcomes"].create_index(["contract_ref"])
    # The questions in datasette-metadata.yml list their answers in these orders and stop at the first 101:
    # walking an index holding every column they filter on, a question about 100,000 stories reads a few
    # hundred rows rather than sorting every outcome (1-3 s a page before).
    db["story_outcomes"].create_index(
        ["year", "story_id", "domain", "domain_label", "direction", "intervention", "area", "verification", "contract_ref"]
    )
    db["story_outcomes"].create_index(["domain_label", "direction", "story_id", "contract_ref"])
    # valid_until is the first consent review date in the file: after it, the file must be rebuilt (see jobs).
    stories = db.execute("SELECT count(*) FROM stories").fetchone()[0]
    db.execute(
        "INSERT INTO publication (audience, built_at, stories, valid_until) VALUES (?, ?, ?, ?)",
        [audience, now_iso(), stories, valid_until],
    )


def _count(db: sqlite_utils.Database, audience: str, groups: list[tuple[str, str]] | None = None) -> None:
    """Stories per intervention, per commitment, and per outcome: every group, or only these (domain, direction) groups."""
    delivery.count_evidence(db)
    db.execute(
        "UPDATE interventions SET stories = (SELECT count(*) FROM story_interventions WHERE intervention_id = interventions.id)"
    )
    if groups is not None:
        labelled = json.dumps([[outcomes.domain_label(domain), direction] for domain, direction in groups])
        db.execute(
            "DELETE FROM outcome_summary WHERE (domain_label, direction) IN"
            " (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
            [labelled],
        )
    params = {"unverified": UNVERIFIED, "framework": outcomes.DEFAULT_FRAMEWORK, "none": NO_INTERVENTION}
    if groups is None:
        db.execute(SUMMARY_SQL.format(only_groups=""), params)
    else:
        db.execute(SUMMARY_SQL.format(only_groups=ONLY_GROUPS), {**params, "groups": json.dumps(groups)})


def _story_row(row: dict[str, Any], audience: str) -> dict[str, Any]:
    interventions = row["interventions"]
    return {
        **row,
        "told_on": row["told_on"][:7] if audience == PUBLIC else row["told_on"],  # YYYY-MM: see the module's docstring
        "interventions": json.dumps(sorted({i["name"] for i in interventions})),
        "providers": json.dumps(sorted({i["provider"] for i in interventions})),
        "commissioners": json.dumps(sorted({i["commissioner"] for i in interventions if i["commissioner"]})),
        "contracts": json.dumps(sorted({i["contract_ref"] for i in interventions if i["contract_ref"]})),
        "outcomes": json.dumps([f"{o['domain_label']}: {o['direction']}" for o in row["outcomes"]]),
    }


def _labelled(rows: list[dict[str, Any]], labels: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    """Each outcome under its own framework's label, as the outcome vocabulary gives it: an imported
    framework's labels are not the shipped ones that stories.outcomes knows."""
    return [
        {
            **row,
            "outcomes": [
                {**o, "domain_label": labels.get((o["framework"], o["domain"])) or outcomes.domain_label(o["domain"])}
                for o in row["outcomes"]
            ],
        }
        for row in rows
    ]


def _families(row: Mapping[str, Any]) -> str:
    if FAMILIES_KEY in row:  # worked out once for every file (publish.with_families)
        return row[FAMILIES_KEY]
    return families(f"{row['title'] or ''}\n{row['body'] or ''}")


def _outcome_row(row: dict[str, Any], outcome: dict[str, Any], interventions: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    # An outcome linked to no intervention is credited to the story's only intervention, if it has one.
    linked = outcome["intervention_id"] or (row["interventions"][0]["id"] if len(row["interventions"]) == 1 else None)
    intervention = interventions.get(linked) or {}
    return {
        **outcome,
        "story_id": row["id"],
        "title": row["title"],
        "intervention_id": linked,
        "intervention": intervention.get("name"),
        "provider": intervention.get("provider"),
        "commissioner": intervention.get("commissioner"),
        "contract_ref": intervention.get("contract_ref"),
        "organisation": row["organisation"],
        "area": row["area"],
        "year": row["year"],
        "verification": row["verification"],
    }


# Stories per outcome per intervention, counted from the outcome rows in the same file.
SUMMARY_SQL = """
INSERT INTO outcome_summary (domain_label, direction, intervention, verified_stories, stories)
SELECT domain_label, direction, coalesce(intervention, :none), sum(verification != :unverified), count(*)
FROM story_outcomes
WHERE framework = :framework{only_groups}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
# Recounting after a withdrawal: only the removed stories' (domain, direction) groups, found through their index.
ONLY_GROUPS = (
    " AND (domain, direction) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:groups))"
)
