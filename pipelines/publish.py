"""Build the published files, one SQLite file per audience, fail-closed: from scratch, or by change.

A full rebuild (`run_publish`) writes each file into a temporary file beside it, checks it, then
renames it over the old one, so a reader (Datasette) sees the complete old or the complete new.

A change to a few stories (`publish_changes`) and a withdrawal (`remove_from_published`) change
each file where it lies, in one SQLite transaction: readers see the file before or after it, never
half of it, and a change takes tens of milliseconds at 100,000 stories where copying a 650 MB file
took over a second. Nothing removed leaves a trace: the connection that changes a file has
`secure_delete` on, so every freed byte is zeroed; FTS5's 'secure-delete' takes a story's words out
of the search index's blocks (see published_file.remove_stories); the rollback journal that holds
the old pages while the transaction runs is deleted when it commits. Every file is built with
`secure_delete` on, so no free page of it holds older words either (files from before that are
vacuumed at their first change).

A withdrawal never waits behind a rebuild. Rebuilds run one at a time under their own lock,
which a withdrawal never takes; both share a swap lock, held by a rebuild for the moment of a
check and a rename, and by a change or withdrawal for its transaction. Before it renames, a
rebuild takes out of its new file every story withdrawn since it read the store
(`stories.removals`); a change does the same inside its transaction, so no rebuild or change
brings a withdrawn story back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from pipelines.published_file import (
    FAMILIES_KEY,
    indexed_texts,
    remove_stories,
    replace_stories,
    rewrite_search_index,
    words_may_linger,
    write_tables,
)
from stories import audit
from stories import published_versions as published_version_store
from stories.assurance import verification_level
from stories.clock import today as utc_today
from stories.commitments import list_commitments
from stories.consent import PUBLIC, PUBLISHED_AUDIENCES, publishable
from stories.db import read_snapshot
from stories.framework_store import frameworks_in_use
from stories.identity import PublishedVersion, published_version, version_key
from stories.instance import Instance
from stories.interventions import list_interventions
from stories.records import stories_for_publication
from stories.removals import last_removal, removed_since
from stories.search import families, vocabulary
from stories.sqlite import read_published, sqlite3
from stories.statements import PROVENANCE
from stories.story import Story

TEMP_SUFFIX = ".building"
REBUILD_LOCK, SWAP_LOCK = ".rebuild.lock", ".swap.lock"
REBUILT_MARK = ".rebuilt"  # when the last full rebuild to finish read the store (time.time())
# PRAGMA user_version of a file built with secure_delete on: its free pages and unused bytes are
# zeroes, so a copy of it carries nothing but its rows. Older files are vacuumed when copied.
ZEROED_FORMAT = 2
MMAP_BYTES, CACHE_KIB = 1 << 30, 128 * 1024
PER_PROCESS_AT_LEAST = 2500  # stories to redact afresh per process: each costs ~2-5 s to start (imports, name lists)
FAMILIES_PER_PROCESS_AT_LEAST = 25_000  # stories to stem per process (~0.1 ms each) when their versions are stored
TABLE_CHECK = "tables"  # see _check
CHANGE_BUSY_SECONDS = 30.0  # a change waits this long for readers (Datasette's queries stop at 3 s) to let it commit


class PublishError(Exception):
    """A published file failed its checks; the previous file was left in place."""


class BuildAbandoned(Exception):
    """A withdrawal took away the file a rebuild was writing (it may hold the story): start again."""


def run_publish(
    instance: Instance, *, today: dt.date | None = None, actor: str = "system", asked_at: float | None = None
) -> dict[str, int]:
    """Rebuild every published file from the working store; returns stories per audience.

    `asked_at` (a queued job's): when a rebuild that read the store after that moment has finished
    since, this one would build the same files: nothing is done, and {} returned. Each withdrawal
    asks for a rebuild; ten of them queued behind one another at 100,000 stories kept the worker
    (and every sign-off queued behind) busy for ten minutes.
    """
    with _lock(instance, REBUILD_LOCK):  # one rebuild at a time; a withdrawal never takes this lock
        if asked_at is not None and _last_rebuild_read_at(instance) >= asked_at:
            return {}
        return _rebuild(instance, today or utc_today(), actor)


def _last_rebuild_read_at(instance: Instance) -> float:
    try:
        return float((instance.published_dir / REBUILT_MARK).read_text())
    except (FileNotFoundError, ValueError):
        return 0.0


def _note_rebuilt(instance: Instance, read_at: float) -> None:
    mark = instance.published_dir / REBUILT_MARK
    temp = mark.with_name(f"{mark.name}.{os.getpid()}.{threading.get_native_id()}")
    temp.write_text(repr(read_at))
    os.replace(temp, mark)


def _rebuild(instance: Instance, today: dt.date, actor: str) -> dict[str, int]:
    while True:
        try:
            return _rebuild_once(instance, today, actor)
        except BuildAbandoned:
            continue  # a story was withdrawn while its files were written: read the store again


def _rebuild_once(instance: Instance, today: dt.date, actor: str) -> dict[str, int]:
    remove_stale_builds(instance)
    read_at = time.time()  # before the store is read: every change committed by then is in these files
    with instance.connection() as db:
        with read_snapshot(db):  # the stories, and the last withdrawal they reflect, as of one moment
            stories = stories_for_publication(db)
            interventions = list_interventions(db)
            commitments = list_commitments(db)
            mark = last_removal(db)
        versions, found = versions_and_families(db, stories)
        words = vocabulary(frameworks_in_use(instance))
        rows = rows_by_audience(stories, _audiences(), today, versions)
        for row in (row for audience_rows in rows.values() for row in audience_rows):
            row[FAMILIES_KEY] = found[row["id"]]  # a row shared by both files: set twice, to the same

        def build(audience: str) -> int:
            def fill(db: sqlite_utils.Database) -> None:
                # Withdrawn since the rows were read, before this file was begun: never written into it.
                # (One withdrawn from here on takes the file away: `_abandon_builds`.)
                late = _removed_since(instance, mark)
                kept = [row for row in rows[audience] if row["id"] not in late]
                write_tables(
                    db, audience=audience, rows=kept, interventions=interventions, vocabulary=words, commitments=commitments
                )

            return build_file(instance, audience, fill, withdrawn_since=lambda: _removed_since(instance, mark))

        # Both files at once, one thread each: inserting, indexing, checking and fsyncing run in SQLite, outside the GIL.
        with ThreadPoolExecutor(len(rows), thread_name_prefix="rebuild") as pool:
            counts = dict(zip(rows, pool.map(build, rows), strict=True))
        audit.record(db, actor, "publish", counts=counts)
    _note_rebuilt(instance, read_at)
    return counts


def publish_changes(
    instance: Instance, story_ids: Iterable[int], *, today: dt.date | None = None, actor: str = "system"
) -> dict[str, int]:
    """Bring these stories up to date in every published file, both changed at once where they lie;
    returns stories per audience.

    Under the rebuild lock, so no full rebuild reading an older store can swap in after it. A file
    that is missing or past a consent review date is rebuilt in full instead (fail closed).
    """
    today = today or utc_today()
    ids = sorted(set(story_ids))
    with _lock(instance, REBUILD_LOCK):
        if lapsed_files(instance, today):
            return _rebuild(instance, today, actor)
        remove_stale_builds(instance)
        with instance.connection() as db:
            with read_snapshot(db):
                stories = stories_for_publication(db, ids)
                interventions = list_interventions(db)
                mark = last_removal(db)
            versions = published_versions(db, stories)
            rows = {audience: list(published_rows(stories, audience, today, versions)) for audience in _audiences()}

            def change(audience: str) -> int | None:
                fill = functools.partial(
                    replace_stories, audience=audience, story_ids=ids, rows=rows[audience], interventions=interventions
                )
                return _change_in_place(
                    instance,
                    audience,
                    fill,
                    ids,
                    needed=lambda db: bool(rows[audience]) or bool(_held_in(db, ids)),  # nothing to add and nothing held
                    withdrawn_since=lambda: _removed_since(instance, mark),
                )

            with ThreadPoolExecutor(len(rows), thread_name_prefix="publish-change") as pool:
                changed = dict(zip(rows, pool.map(change, rows), strict=True))
            if None in changed.values():  # a file is missing: build them all (fail closed)
                return _rebuild(instance, today, actor)
            counts = {audience: n for audience, n in changed.items() if n is not None}
            audit.record(db, actor, "publish.change", None, stories=ids, counts=counts)
    return counts


def _audiences() -> list[str]:
    return sorted(PUBLISHED_AUDIENCES, key=lambda a: a != PUBLIC)  # the public file first


def _removed_since(instance: Instance, mark: int) -> set[int]:
    with instance.connection() as db:  # its own connection: asked from each file's thread
        return removed_since(db, mark)


def lapsed_files(instance: Instance, today: dt.date) -> list[str]:
    """Audiences whose published file holds a story whose consent review date has now passed."""
    lapsed = []
    for audience in PUBLISHED_AUDIENCES:
        path = instance.published_path(audience)
        if not path.exists():
            lapsed.append(audience)
            continue
        with contextlib.closing(read_published(path)) as conn:
            valid_until = conn.execute("SELECT valid_until FROM publication").fetchone()[0]
        if valid_until is not None and dt.date.fromisoformat(valid_until) < today:
            lapsed.append(audience)
    return lapsed


def published_rows(
    stories: list[Story], audience: str, today: dt.date, versions: dict[int, PublishedVersion]
) -> Iterator[dict[str, Any]]:
    """The published form of every story this audience may see today: every text from its published version."""
    for story in stories:
        if _may_see(story, audience, today, versions):
            yield _row(story, versions[story.id])


def rows_by_audience(
    stories: list[Story], audiences: Iterable[str], today: dt.date, versions: dict[int, PublishedVersion]
) -> dict[str, list[dict[str, Any]]]:
    """`published_rows` for each audience, each story's row made once and shared by every audience that may
    see it (a rebuild's rows: the files' writers only read them)."""
    rows: dict[str, list[dict[str, Any]]] = {audience: [] for audience in audiences}
    for story in stories:
        seen_by = [audience for audience in rows if _may_see(story, audience, today, versions)]
        if seen_by:
            row = _row(story, versions[story.id])
            for audience in seen_by:
                rows[audience].append(row)
    return rows


def _may_see(story: Story, audience: str, today: dt.date, versions: dict[int, PublishedVersion]) -> bool:
    version = versions.get(story.id)
    return (
        version is not None
        and story.consent is not None
        and publishable(story.state(not version.unresolved_names), story.consent, audience, today)
    )


def _row(story: Story, version: PublishedVersion) -> dict[str, Any]:
    """A story's published form, the same for every audience (published_file.py narrows what differs)."""
    consent = story.consent
    assert consent is not None  # _may_see
    return {
        "id": story.id,
        "title": version.title,
        "body": version.body,
        "told_on": story.told_on.isoformat(),
        "year": story.told_on.year,
        "organisation": story.organisation,
        "area": story.area,
        "storyteller": version.storyteller,
        "identity_level": consent.identity_level,
        "review_on": consent.review_on.isoformat(),
        "told_as": "recorded" if story.told_aloud else "written",
        "verification": verification_level(v["kind"] for v in story.verifications),
        "most_significant_change": version.most_significant_change,
        "interventions": list(story.interventions),
        "outcomes": [
            {
                "domain": tag["domain"],
                "direction": tag["direction"],
                "provenance": PROVENANCE[tag["said_by"]],
                "evidence": evidence,
                "framework": tag["framework"],
                "intervention_id": tag["intervention_id"],
                "contribution": tag["contribution"],
                "contribution_statement": version.contribution(tag),
            }
            for tag, evidence in version.published_tags(story)
        ],
    }


def stale_audiences(instance: Instance, db: sqlite_utils.Database, story_id: int, today: dt.date | None = None) -> list[str]:
    """The published files whose copy of this story is not, word for word, what the store now allows them."""
    stories = stories_for_publication(db, [story_id])
    versions = {story.id: published_version(story) for story in stories if story.consent is not None}
    stale = []
    for audience in PUBLISHED_AUDIENCES:
        path = instance.published_path(audience)
        held = _words_held(path, story_id) if path.exists() else None
        if held is None:
            continue
        allowed = [_words(row) for row in published_rows(stories, audience, today or utc_today(), versions)]
        if allowed != [held]:
            stale.append(audience)
    return stale


def _words(row: dict[str, Any]) -> tuple[Any, ...]:
    """Everything of a story's published row that words or identity can be read from."""
    outcomes = sorted((o["evidence"] or "", o["contribution_statement"] or "") for o in row["outcomes"])
    return (row["title"], row["body"], row["storyteller"], row["identity_level"], row["most_significant_change"], outcomes)


def _words_held(path: Path, story_id: int) -> tuple[Any, ...] | None:
    with contextlib.closing(read_published(path)) as conn:
        conn.execute("BEGIN")  # the story and its outcomes as of one moment
        story = conn.execute(
            "SELECT title, body, storyteller, identity_level, most_significant_change FROM stories WHERE id = ?", [story_id]
        ).fetchone()
        if story is None:
            return None
        outcomes = conn.execute("SELECT evidence, contribution_statement FROM story_outcomes WHERE story_id = ?", [story_id])
        return (*story, sorted((evidence or "", statement or "") for evidence, statement in outcomes))


def published_versions(db: sqlite_utils.Database, stories: list[Story]) -> dict[int, PublishedVersion]:
    """Identity-applied versions of every story that might be published, reusing stored ones still current."""
    return _versions(db, stories, with_families=False)[0]


def versions_and_families(db: sqlite_utils.Database, stories: list[Story]) -> tuple[dict[int, PublishedVersion], dict[int, str]]:
    """`published_versions`, and each version's search word families (the index's stems), reusing stored
    ones made by today's stemming rules and storing those worked out afresh beside their version."""
    return _versions(db, stories, with_families=True)


def _versions(
    db: sqlite_utils.Database, stories: list[Story], *, with_families: bool
) -> tuple[dict[int, PublishedVersion], dict[int, str]]:
    few = len(stories) < 1000  # a change's few stories: read only theirs
    stored = published_version_store.load_for(db, [s.id for s in stories]) if few else published_version_store.load_all(db)
    versions: dict[int, PublishedVersion] = {}
    found: dict[int, str] = {}
    todo, unstemmed = [], []
    for story in stories:
        if story.consent is None or not (story.consent.audiences & set(PUBLISHED_AUDIENCES)):
            continue  # never published: no identity work
        key = version_key(story)
        kept = stored.get(story.id)
        if kept is not None and kept.key == key:
            versions[story.id] = PublishedVersion.from_json(kept.version)
            if kept.families is not None:
                found[story.id] = kept.families
            elif with_families:
                unstemmed.append((story.id, key))
        else:
            todo.append((story, key))
    made = _identity_applied([story for story, _ in todo], with_families=with_families)
    fresh = {}
    for (story, key), (version, families_found) in zip(todo, made, strict=True):
        versions[story.id] = version
        fresh[story.id] = (key, version.to_json())
        if families_found is not None:
            found[story.id] = families_found
    published_version_store.save(db, fresh, {story_id: found[story_id] for story_id in fresh if story_id in found})
    if unstemmed:  # stored before families were kept, or by other stemming rules
        texts = [_searchable(versions[story_id]) for story_id, _ in unstemmed]
        stemmed = _on_cores(families, texts, at_least=FAMILIES_PER_PROCESS_AT_LEAST)
        found.update((story_id, families_found) for (story_id, _), families_found in zip(unstemmed, stemmed, strict=True))
        published_version_store.save_families(db, {story_id: (key, found[story_id]) for story_id, key in unstemmed})
    return versions, found


def _searchable(version: PublishedVersion) -> str:
    """A version's words as the search index reads them (published_file.py's stories_fts_search view)."""
    return f"{version.title or ''}\n{version.body or ''}"


def _identity_applied(stories: list[Story], *, with_families: bool = False) -> list[tuple[PublishedVersion, str | None]]:
    """The identity step for stories with no current stored version, and with it, if asked, the version's
    search word families: on every core when there are many.

    The step is pure Python (finding and replacing names), so threads would share one core; each
    process costs 2-5 s to start (imports, the name lists), so only thousands of stories are worth it
    (10,000 stories on 2 busy cores: 18.5 s against 30.3 s in one process).
    """
    step = _version_and_families if with_families else _version_only
    return _on_cores(step, stories, at_least=PER_PROCESS_AT_LEAST)


def _version_only(story: Story) -> tuple[PublishedVersion, str | None]:
    return published_version(story), None


def _version_and_families(story: Story) -> tuple[PublishedVersion, str | None]:
    version = published_version(story)
    return version, families(_searchable(version))


def _on_cores(work: Callable[[Any], Any], items: list[Any], *, at_least: int) -> list[Any]:
    """`work` done on each item, in worker processes when there are at least `at_least` items for each."""
    workers = min(_cores(), len(items) // at_least)
    if workers < 2:
        return [work(item) for item in items]
    # forkserver, not fork: the worker runs jobs on threads, and a fork copies any lock one of them holds.
    # Each process imports the calling script's main module, as multiprocessing does: a script that
    # publishes must keep its work under `if __name__ == "__main__"` (every entry point and bench does).
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        return list(pool.map(work, items, chunksize=max(1, min(500, len(items) // (workers * 8)))))


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build_file(
    instance: Instance,
    audience: str,
    fill: Callable[[sqlite_utils.Database], None],
    *,
    withdrawn_since: Callable[[], set[int]] = set,
) -> int:
    """Write a complete published file into a temp file, check it and swap it in; returns the stories in it.

    `withdrawn_since` names the stories withdrawn after `fill`'s rows were read: they are taken
    out of the new file before it goes live, and looked for once more under the swap lock.
    """
    path = instance.published_path(audience)
    with _temp_file(path) as temp:
        stories = _write(temp, fill, check="integrity_check", fresh=True)
        return _swap_in(instance, audience, temp, stories, withdrawn_since)


def remove_from_published(
    instance: Instance, story_ids: list[int], *, actor: str, audiences: Iterable[str] | None = None
) -> dict[str, int]:
    """Take these stories out of every published file where it lies, leaving no trace: tens of milliseconds.

    Used the moment consent is withdrawn (after the store says so), and never waits for a
    rebuild; a full rebuild follows in the background to catch up with anything else that changed.
    Both files at once, one thread each (SQLite works outside the GIL); only `audiences`' files, if named.
    """
    remove_stale_builds(instance)
    audiences = [audience for audience in _audiences() if audiences is None or audience in set(audiences)]
    with ThreadPoolExecutor(len(audiences), thread_name_prefix="withdraw") as pool:
        left = dict(zip(audiences, pool.map(lambda a: _remove_in_place(instance, a, story_ids), audiences), strict=True))
    counts = {audience: n for audience, n in left.items() if n is not None}
    _abandon_builds(instance)
    with instance.connection() as db:
        audit.record(db, actor, "publish.remove", None, stories=story_ids, counts=counts)
    return counts


def _abandon_builds(instance: Instance) -> None:
    """Take away the files rebuilds are writing now: one that read the store before this removal may be
    writing the story into its file, beside the served ones, for as long as it takes (a minute at
    100,000 stories). Each such rebuild notices and starts again from the store (`BuildAbandoned`)."""
    with _lock(instance, SWAP_LOCK):  # never between a rebuild's last look and its rename
        for temp in instance.published_dir.glob(f".*{TEMP_SUFFIX}"):
            temp.unlink(missing_ok=True)


def stories_held(instance: Instance, story_ids: Iterable[int]) -> set[int]:
    """Which of these stories any published file holds now."""
    held: set[int] = set()
    for audience in PUBLISHED_AUDIENCES:
        path = instance.published_path(audience)
        if path.exists():
            held |= _held(path, story_ids)
    return held


def _remove_in_place(instance: Instance, audience: str, story_ids: list[int]) -> int | None:
    """One file's withdrawal; returns the stories left in it (None if there is no such file)."""
    return _change_in_place(
        instance,
        audience,
        lambda db: remove_stories(db, audience, story_ids),
        story_ids,
        needed=lambda db: bool(_held_in(db, story_ids)),
    )


def _change_in_place(
    instance: Instance,
    audience: str,
    change: Callable[[sqlite_utils.Database], object],
    story_ids: Iterable[int],
    *,
    needed: Callable[[sqlite_utils.Database], bool] = lambda db: True,
    withdrawn_since: Callable[[], set[int]] = set,
) -> int | None:
    """Change these stories in a published file where it lies, in one transaction under the swap lock;
    returns the stories in it (None if there is no such file).

    `withdrawn_since` names stories withdrawn after the change's rows were read: taken out in the
    same transaction, so the change never puts a withdrawn story back. Once it is committed (no
    reader sees the old words from then on), if a word that left the search index could still be read
    in it (in a key it finds its blocks by: `words_may_linger`), the index is written out afresh in a
    second transaction; a process killed between the two leaves that to the rebuild every withdrawal
    asks for. The swap lock keeps a rebuild from renaming a new file over this one meanwhile.
    """
    path = instance.published_path(audience)
    with _lock(instance, SWAP_LOCK):
        if not path.exists():
            return None
        _recover(path)
        conn = _open_to_change(path)
        try:
            db = sqlite_utils.Database(conn)
            if needed(db):
                ids = set(story_ids)
                indexed = indexed_texts(db, ids)
                with db.atomic():
                    change(db)
                    late = _held_in(db, withdrawn_since())
                    if late:
                        indexed |= indexed_texts(db, late)
                        remove_stories(db, audience, sorted(late))
                now = indexed_texts(db, ids | late)
                gone = [words for story_id, words in indexed.items() if now.get(story_id) != words]
                if words_may_linger(db, gone):
                    with db.atomic():
                        rewrite_search_index(db)
                if conn.execute("PRAGMA user_version").fetchone()[0] != ZEROED_FORMAT:
                    # Built before files were zeroed: rewrite every page, so nothing but rows is left in it.
                    conn.execute("VACUUM")
                    conn.execute(f"PRAGMA user_version = {ZEROED_FORMAT}")
            return conn.execute("SELECT count(*) FROM stories").fetchone()[0]
        finally:
            conn.close()


def _open_to_change(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=CHANGE_BUSY_SECONDS)
    # Every freed page and deleted byte is overwritten with zeroes: what a change takes out leaves no trace.
    conn.execute("PRAGMA secure_delete = ON")
    # A rollback journal, deleted at commit: the old pages it holds go with it, and readers need no
    # shared-memory file (a file renamed over by a rebuild would otherwise share one with the old).
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


def _recover(path: Path) -> None:
    """Roll back a change its process died in the middle of (its journal is left beside the file).

    Called under the swap lock, so no live change owns the journal. Reading the file with a
    connection that may write rolls a hot journal back. A journal left that SQLite does not count as
    hot (the change died before it wrote to the file) still holds the old pages, words and all: it
    goes too. Either way no rebuild renames its file in beside an old file's journal.
    """
    journal = path.with_name(path.name + "-journal")
    if journal.exists():
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        journal.unlink(missing_ok=True)


def _swap_in(
    instance: Instance,
    audience: str,
    temp: Path,
    stories: int,
    withdrawn_since: Callable[[], set[int]],
) -> int:
    """Swap a checked new file in: first take out every story withdrawn since its rows were read, then,
    under the swap lock, swap it in if no other story was withdrawn meanwhile. Returns the stories in it."""
    taken_out: set[int] = set()
    while True:
        if not temp.exists():  # a withdrawal took it away (`_abandon_builds`)
            raise BuildAbandoned(temp.name)
        late = withdrawn_since() - taken_out
        if late:
            if _held_in_build(temp, late):
                stories = _write(
                    temp, functools.partial(_take_out_for_good, audience=audience, story_ids=late), check=TABLE_CHECK
                )
            taken_out |= late
            continue
        with _lock(instance, SWAP_LOCK):
            if withdrawn_since() - taken_out or not temp.exists():
                continue
            _swap(temp, instance.published_path(audience))
            return stories


def _held_in_build(temp: Path, story_ids: Iterable[int]) -> set[int]:
    try:
        return _held(temp, story_ids)
    except sqlite3.OperationalError:
        if temp.exists():
            raise
        raise BuildAbandoned(temp.name) from None


def _take_out_for_good(db: sqlite_utils.Database, audience: str, story_ids: Iterable[int]) -> None:
    """A late withdrawal out of a rebuild's new file: its rows, then, if need be, its words from the search index's keys."""
    texts = list(indexed_texts(db, story_ids).values())
    remove_stories(db, audience, story_ids)
    if words_may_linger(db, texts):
        rewrite_search_index(db)


def _write(path: Path, fill: Callable[[sqlite_utils.Database], None], *, check: str, fresh: bool = False) -> int:
    """Fill or change a temp file, check it and fsync it; returns the stories in it.

    Raises BuildAbandoned if a withdrawal took the file away meanwhile (`_abandon_builds`).
    """
    try:
        return _fill_and_check(path, fill, check=check, fresh=fresh)
    except (FileNotFoundError, sqlite3.OperationalError):
        if path.exists():
            raise
        raise BuildAbandoned(path.name) from None


def _fill_and_check(path: Path, fill: Callable[[sqlite_utils.Database], None], *, check: str, fresh: bool) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)  # never makes a file taken away
    try:
        # A crash mid-build leaves only the temp file, removed by the next run: no journal needed.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        # Every freed page and deleted row is overwritten with zeroes, so copies of this file carry nothing else.
        conn.execute("PRAGMA secure_delete = ON")
        # Read through a memory map with a larger cache: merging the search index and the check read every page.
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        fill(sqlite_utils.Database(conn))
        if fresh:
            conn.execute(f"PRAGMA user_version = {ZEROED_FORMAT}")
        conn.execute("PRAGMA journal_mode = DELETE")
        result = _check(conn, check)
        if result != "ok":
            raise PublishError(f"{path.name}: {check} failed ({result})")
        stories = conn.execute("SELECT stories FROM publication").fetchone()[0]
    finally:
        conn.close()
    _fsync(path)
    return stories


def _check(conn: sqlite3.Connection, check: str) -> str:
    """ "ok", or what is wrong: PRAGMA integrity_check for a fresh build; for a checked fresh build with
    late withdrawals taken out, a quick check of every table's b-tree and indexes (0.2 s at 100,000
    stories, where the file-wide quick check, which also accounts for every page, takes 1.2 s)."""
    if check != TABLE_CHECK:
        return conn.execute(f"PRAGMA {check}").fetchone()[0]
    tables = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'").fetchall()
    for (table,) in tables:
        # Table names come from the file's own schema, written by published_file.py, never from input.
        result = conn.execute(f"PRAGMA quick_check('{table}')").fetchone()[0]
        if result != "ok":
            return f"{table}: {result}"
    return "ok"


def _swap(temp: Path, path: Path) -> None:
    _recover(path)
    os.replace(temp, path)
    _fsync(path.parent)


def _held(path: Path, story_ids: Iterable[int]) -> set[int]:
    with contextlib.closing(read_published(path)) as conn:
        return _held_in(conn, story_ids)


def _held_in(db: sqlite_utils.Database | sqlite3.Connection, story_ids: Iterable[int]) -> set[int]:
    rows = db.execute("SELECT id FROM stories WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(list(story_ids))])
    return {row[0] for row in rows}


@contextmanager
def _temp_file(path: Path) -> Iterator[Path]:
    """A new temp file beside `path`, locked for as long as this thread builds it; gone unless swapped in."""
    temp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_native_id()}{TEMP_SUFFIX}")
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temp.unlink(missing_ok=True)  # left by a dead process that had our pid and thread id
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)  # `remove_stale_builds` leaves a locked temp file alone
        if _same_inode(fd, temp):
            break
        os.close(fd)  # removed as stale between our open and our lock: make another
    try:
        yield temp
    finally:
        temp.unlink(missing_ok=True)  # still here only if it was not swapped in
        os.close(fd)


def remove_stale_builds(instance: Instance) -> None:
    """A build interrupted by a crash may hold stories since withdrawn: never leave one lying about.

    A temp file whose lock can be taken has no live builder (the kernel drops a dead process's locks).
    """
    roll_back_cut_short_changes(instance)
    for stale in instance.published_dir.glob(f".*{TEMP_SUFFIX}"):
        try:
            fd = os.open(stale, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_inode(fd, stale):
                stale.unlink(missing_ok=True)
        except BlockingIOError:
            pass  # its builder is at work
        finally:
            os.close(fd)


def roll_back_cut_short_changes(instance: Instance) -> None:
    """A change a crash cut short is rolled back (its journal removed), so readers, read-only, can read
    the file again: until then SQLite refuses them. Cheap while there is none (a file's existence)."""
    for audience in PUBLISHED_AUDIENCES:
        path = instance.published_path(audience)
        if path.with_name(path.name + "-journal").exists():  # or a live change's, for milliseconds: the lock waits for it
            with _lock(instance, SWAP_LOCK):
                _recover(path)


def _same_inode(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


@contextmanager
def _lock(instance: Instance, name: str) -> Iterator[None]:
    instance.published_dir.mkdir(parents=True, exist_ok=True)
    with open(instance.published_dir / name, "w") as lock:
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
