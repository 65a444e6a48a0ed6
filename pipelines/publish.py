"""Build the published files from scratch: one fresh SQLite file per audience, fail-closed.

Published files are never edited in place: rows deleted from SQLite linger in FTS shadow
tables and free pages. Each file is built into a temporary file beside it, checked, then
renamed over the old one, so a reader (Datasette) sees the complete old or the complete new.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from pipelines.identity import apply_identity, published_version
from stories import audit, outcomes
from stories.clock import now_iso
from stories.clock import today as utc_today
from stories.consent import PUBLISHED_AUDIENCES, publishable
from stories.instance import Instance
from stories.interventions import list_interventions
from stories.records import stories_for_publication, story_state

TEMP_SUFFIX = ".building"


class PublishError(Exception):
    """A published file failed its checks; the previous file was left in place."""


def run_publish(instance: Instance, *, today: dt.date | None = None, actor: str = "system") -> dict[str, int]:
    """Rebuild every published file from the working store; returns stories per audience."""
    today = today or utc_today()
    with _publish_lock(instance):
        _remove_stale_builds(instance)
        db = instance.open()
        try:
            stories = stories_for_publication(db)
            interventions = list_interventions(db)
            counts = {}
            for audience in PUBLISHED_AUDIENCES:
                rows = list(published_rows(stories, audience, today))
                build_file(instance.published_path(audience), audience, rows, interventions)
                counts[audience] = len(rows)
            audit.record(db, actor, "publish", counts=counts)
        finally:
            db.close()
    return counts


def lapsed_files(instance: Instance, today: dt.date) -> list[str]:
    """Audiences whose published file holds a story whose consent review date has now passed."""
    lapsed = []
    for audience in PUBLISHED_AUDIENCES:
        path = instance.published_path(audience)
        if not path.exists():
            lapsed.append(audience)
            continue
        with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as conn:
            valid_until = conn.execute("SELECT valid_until FROM publication").fetchone()[0]
        if valid_until is not None and dt.date.fromisoformat(valid_until) < today:
            lapsed.append(audience)
    return lapsed


def published_rows(stories: list[dict[str, Any]], audience: str, today: dt.date) -> Iterator[dict[str, Any]]:
    """The published form of every story this audience may see today."""
    for story in stories:
        if story["consent"] is None or audience not in story["consent"].audiences:
            continue  # cheap refusal first: identity work only for stories that might go out
        version = published_version(story)
        if not publishable(story_state(story, not version.unresolved_names), story["consent"], audience, today):
            continue
        told_on = story["told_on"]
        yield {
            "id": story["id"],
            "title": version.title,
            "body": version.body,
            "told_on": told_on,
            "year": int(told_on[:4]),
            "organisation": story["organisation"],
            "storyteller": version.storyteller,
            "identity_level": story["consent"].identity_level,
            "review_on": story["consent"].review_on.isoformat(),
            "told_as": "recorded" if story["source"] == "audio" else "written",
            "interventions": [i["name"] for i in story["interventions"]],
            "intervention_ids": [i["id"] for i in story["interventions"]],
            "outcomes": [
                {
                    "domain": tag["domain"],
                    "direction": tag["direction"],
                    "evidence": apply_identity(story, tag["evidence"] or "").text,
                    "framework": tag["framework"],
                }
                for tag in story["tags"]
            ],
        }


def build_file(path: Path, audience: str, rows: list[dict[str, Any]], interventions: list[Mapping[str, Any]]) -> None:
    """Write a complete published file for one audience and swap it in atomically."""
    temp = path.with_name(f".{path.stem}.{os.getpid()}{TEMP_SUFFIX}")
    temp.unlink(missing_ok=True)
    conn = sqlite3.connect(temp, isolation_level=None)
    try:
        # A crash mid-build leaves only the temp file, removed by the next run: no journal needed.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        db = sqlite_utils.Database(conn)
        with db.atomic():
            _write_tables(db, audience, rows, interventions)
        conn.execute("PRAGMA journal_mode = DELETE")
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise PublishError(f"{path.name}: integrity check failed ({result})")
    finally:
        conn.close()
    _fsync(temp)
    os.replace(temp, path)
    _fsync(path.parent)


def _write_tables(db: sqlite_utils.Database, audience: str, rows: list[dict[str, Any]], interventions: list[Mapping[str, Any]]) -> None:
    db.execute(SCHEMA_STORIES)
    db.execute(SCHEMA_OUTCOMES)
    db.execute(SCHEMA_INTERVENTIONS)
    db.execute(SCHEMA_LINKS)
    db.execute(SCHEMA_PUBLICATION)
    stories_per_intervention: dict[int, int] = {}
    for row in rows:
        db.execute(
            "INSERT INTO stories (id, title, body, told_on, year, organisation, storyteller, identity_level, told_as,"
            " interventions, outcomes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                row["id"], row["title"], row["body"], row["told_on"], row["year"], row["organisation"],
                row["storyteller"], row["identity_level"], row["told_as"], json.dumps(row["interventions"]),
                json.dumps([f"{outcomes.domain_label(o['domain'])}: {o['direction']}" for o in row["outcomes"]]),
            ],
        )
        for outcome in row["outcomes"]:
            db.execute(
                "INSERT INTO story_outcomes (story_id, domain, domain_label, direction, evidence, framework)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [row["id"], outcome["domain"], outcomes.domain_label(outcome["domain"]), outcome["direction"],
                 outcome["evidence"], outcome["framework"]],
            )
        for intervention_id in row["intervention_ids"]:
            db.execute("INSERT INTO story_interventions (story_id, intervention_id) VALUES (?, ?)", [row["id"], intervention_id])
            stories_per_intervention[intervention_id] = stories_per_intervention.get(intervention_id, 0) + 1
    for item in interventions:
        db.execute(
            "INSERT INTO interventions (id, name, provider, commissioner, contract_ref, contract_ref_kind,"
            " social_value_theme, starts_on, ends_on, description, stories) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [item["id"], item["name"], item["provider"], item["commissioner"], item["contract_ref"],
             item["contract_ref_kind"], item["social_value_theme"], item["starts_on"], item["ends_on"],
             item["description"], stories_per_intervention.get(item["id"], 0)],
        )
    db["stories"].enable_fts(["title", "body"], tokenize="porter", create_triggers=False)
    db["stories"].populate_fts(["title", "body"])
    # The first consent review date in the file: after it, the file must be rebuilt (see jobs).
    valid_until = min((row["review_on"] for row in rows), default=None)
    db.execute(
        "INSERT INTO publication (audience, built_at, stories, valid_until) VALUES (?, ?, ?, ?)",
        [audience, now_iso(), len(rows), valid_until],
    )


def _remove_stale_builds(instance: Instance) -> None:
    """A build interrupted by a crash may hold stories since withdrawn: never leave one lying about."""
    for stale in instance.published_dir.glob(f".*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


@contextmanager
def _publish_lock(instance: Instance) -> Iterator[None]:
    instance.published_dir.mkdir(parents=True, exist_ok=True)
    with open(instance.published_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


SCHEMA_STORIES = """CREATE TABLE stories (
    id INTEGER PRIMARY KEY, title TEXT, body TEXT, told_on TEXT, year INTEGER, organisation TEXT,
    storyteller TEXT, identity_level TEXT, told_as TEXT, interventions TEXT, outcomes TEXT)"""
SCHEMA_OUTCOMES = """CREATE TABLE story_outcomes (
    story_id INTEGER REFERENCES stories(id), domain TEXT, domain_label TEXT, direction TEXT,
    evidence TEXT, framework TEXT)"""
SCHEMA_INTERVENTIONS = """CREATE TABLE interventions (
    id INTEGER PRIMARY KEY, name TEXT, provider TEXT, commissioner TEXT, contract_ref TEXT,
    contract_ref_kind TEXT, social_value_theme TEXT, starts_on TEXT, ends_on TEXT, description TEXT,
    stories INTEGER)"""
SCHEMA_LINKS = """CREATE TABLE story_interventions (
    story_id INTEGER REFERENCES stories(id), intervention_id INTEGER REFERENCES interventions(id),
    PRIMARY KEY (story_id, intervention_id))"""
SCHEMA_PUBLICATION = "CREATE TABLE publication (audience TEXT, built_at TEXT, stories INTEGER, valid_until TEXT)"
