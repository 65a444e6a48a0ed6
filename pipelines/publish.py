"""Build the published files from scratch: one fresh SQLite file per audience, fail-closed.

Published files are never edited in place: rows deleted from SQLite linger in FTS shadow
tables and free pages. Each file is built into a temporary file beside it, checked, then
renamed over the old one, so a reader (Datasette) sees the complete old or the complete new.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from pipelines.identity import PublishedVersion, stored_or_fresh
from pipelines.published_file import copy_without, write_tables
from stories import audit
from stories import published_versions as published_version_store
from stories.assurance import verification_level
from stories.clock import today as utc_today
from stories.consent import PUBLIC, PUBLISHED_AUDIENCES, publishable
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
            versions = published_versions(db, stories)
            interventions = list_interventions(db)
            counts = {}
            for audience in sorted(PUBLISHED_AUDIENCES, key=lambda a: a != PUBLIC):  # the public file first
                rows = list(published_rows(stories, audience, today, versions))
                build_file(
                    instance.published_path(audience),
                    functools.partial(write_tables, audience=audience, rows=rows, interventions=interventions),
                )
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


def published_rows(
    stories: list[dict[str, Any]], audience: str, today: dt.date, versions: dict[int, PublishedVersion]
) -> Iterator[dict[str, Any]]:
    """The published form of every story this audience may see today: every text from its published version."""
    for story in stories:
        version = versions.get(story["id"])
        if version is None or not publishable(
            story_state(story, not version.unresolved_names), story["consent"], audience, today
        ):
            continue
        told_on = story["told_on"]
        yield {
            "id": story["id"],
            "title": version.title,
            "body": version.body,
            "told_on": told_on,
            "year": int(told_on[:4]),
            "organisation": story["organisation"],
            "area": story["area"],
            "storyteller": version.storyteller,
            "identity_level": story["consent"].identity_level,
            "review_on": story["consent"].review_on.isoformat(),
            "told_as": "recorded" if story["source"] == "audio" else "written",
            "verification": verification_level(v["kind"] for v in story["verifications"]),
            "most_significant_change": version.most_significant_change,
            "interventions": story["interventions"],
            "outcomes": [
                {
                    "domain": tag["domain"],
                    "direction": tag["direction"],
                    "evidence": version.evidence(story, tag),
                    "framework": tag["framework"],
                    "intervention_id": tag["intervention_id"],
                    "contribution": tag["contribution"],
                    "contribution_statement": version.contribution(tag),
                }
                for tag in story["tags"]
            ],
        }


def published_versions(db: sqlite_utils.Database, stories: list[dict[str, Any]]) -> dict[int, PublishedVersion]:
    """Identity-applied versions of every story that might be published, reusing stored ones still current."""
    stored = published_version_store.load_all(db)
    versions, fresh = {}, {}
    for story in stories:
        if story["consent"] is None or not (story["consent"].audiences & set(PUBLISHED_AUDIENCES)):
            continue  # never published: no identity work
        version, new_key = stored_or_fresh(story, stored.get(story["id"]))
        versions[story["id"]] = version
        if new_key:
            fresh[story["id"]] = (new_key, version.to_json())
    published_version_store.save(db, fresh)
    return versions


def build_file(path: Path, fill: Callable[[sqlite_utils.Database], None]) -> None:
    """Write a complete published file into a temporary file, check it, and swap it in atomically."""
    temp = path.with_name(f".{path.stem}.{os.getpid()}{TEMP_SUFFIX}")
    temp.unlink(missing_ok=True)
    conn = sqlite3.connect(temp, isolation_level=None)
    try:
        # A crash mid-build leaves only the temp file, removed by the next run: no journal needed.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        fill(sqlite_utils.Database(conn))
        conn.execute("PRAGMA journal_mode = DELETE")
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise PublishError(f"{path.name}: integrity check failed ({result})")
    finally:
        conn.close()
    _fsync(temp)
    os.replace(temp, path)
    _fsync(path.parent)


def remove_from_published(instance: Instance, story_ids: list[int], *, actor: str) -> dict[str, int]:
    """Rebuild each published file as a copy of itself without these stories: seconds, whatever the size.

    Used the moment consent is withdrawn; a full rebuild follows in the background to catch up
    with anything else that changed.
    """
    counts = {}
    with _publish_lock(instance):
        _remove_stale_builds(instance)
        # The public file first: it is the one anyone can read.
        for audience in sorted(PUBLISHED_AUDIENCES, key=lambda a: a != PUBLIC):
            path = instance.published_path(audience)
            if path.exists():
                build_file(path, lambda db, audience=audience, path=path: copy_without(db, audience, path, story_ids))
                with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as conn:
                    counts[audience] = conn.execute("SELECT count(*) FROM stories").fetchone()[0]
    db = instance.open()
    try:
        audit.record(db, actor, "publish.remove", None, stories=story_ids, counts=counts)
    finally:
        db.close()
    return counts


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
