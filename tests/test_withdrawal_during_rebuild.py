"""A withdrawal never waits behind a rebuild, and no rebuild brings a withdrawn story back.

The races are made to happen, not hoped for: a rebuild (or a second withdrawal) is paused at
the exact point that matters, on a thread, while the other side runs to the end.
"""

from __future__ import annotations

import bisect
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import story_form, wait_for
from pipelines import publish, published_file
from pipelines.jobs import queue_for
from pipelines.publish import run_publish
from pipelines.withdraw import catch_up_withdrawals
from stories.consent import PUBLISHED_AUDIENCES
from stories.notrace import find_traces
from stories.records import approve_story, decide_name, record_story
from stories.services.consent import withdraw_story
from stories.sqlite import sqlite3
from stories.withdrawal import withdraw

ROOT = Path(__file__).resolve().parent.parent
PAUSE = 20.0  # seconds a paused rebuild waits at most: a withdrawal that waited for it would take this long
QUICK = 5.0  # a withdrawal on a handful of stories takes well under a second; this leaves room on a busy machine
# Words found in no other story, with first letters no other word in these stories starts with: the
# search index stores each word in full wherever the word before it shares no letters, so scanning
# the file's bytes finds a word left in the index as surely as one left in a row.
UNIQUE = ("xylvork", "jubqoff", "zephrunk")  # the search index keeps each as it is (no suffix to stem)


@pytest.fixture
def queued_jobs(instance, monkeypatch):
    """Jobs go to the real queue and wait there (no worker runs): a withdrawal's follow-up rebuild stays queued."""
    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "0")
    queue_for.cache_clear()
    yield queue_for(instance.root)
    queue_for.cache_clear()


@pytest.fixture
def stories(instance, db, orgs, users, signed_form):
    """Three published stories, each with one unique word, and a fourth with none; returns id -> word."""
    words = {}
    for n, word in enumerate((*UNIQUE, None)):
        body = f"My name is Margaret Holt. Priya rings every Tuesday and I go to the lunch club{f' {word}' if word else ''}."
        form = story_form(title=f"Story {n}", body=body, evidence_file=signed_form())
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
        decide_name(db, story_id, "Priya", "keep", actor="t")
        approve_story(db, story_id, actor="t", user_id=users["reviewer"])
        words[story_id] = word
    run_publish(instance)
    assert all(held(instance, story_id) == set(PUBLISHED_AUDIENCES) for story_id in words)
    return words


def held(instance, story_id: int) -> set[str]:
    """The published files that hold this story."""
    found = set()
    for audience in PUBLISHED_AUDIENCES:
        with sqlite3.connect(f"file:{instance.published_path(audience)}?immutable=1", uri=True) as conn:
            if conn.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone():
                found.add(audience)
    return found


def traces(instance, word: str) -> list[str]:
    """Published files whose bytes hold the word anywhere: rows, search index, free pages."""
    return [a for a in PUBLISHED_AUDIENCES if word.encode() in instance.published_path(a).read_bytes().lower()]


def in_search_index(instance, audience: str, word: str) -> bool:
    """Is the word in the full-text index's own blocks (the shadow table), not only in the story's row?"""
    with sqlite3.connect(f"file:{instance.published_path(audience)}?immutable=1", uri=True) as conn:
        return any(word.encode() in bytes(block).lower() for (block,) in conn.execute("SELECT block FROM stories_fts_data"))


def searchable(instance, audience: str, word: str) -> bool:
    with sqlite3.connect(f"file:{instance.published_path(audience)}?immutable=1", uri=True) as conn:
        return bool(conn.execute("SELECT rowid FROM stories_fts WHERE stories_fts MATCH ?", [word]).fetchall())


class Paused:
    """Wraps a function so that one chosen call stops after doing its work, until released."""

    def __init__(self, monkeypatch, owner, name: str, when) -> None:  # noqa: ANN001
        self.real = getattr(owner, name)
        self.when = when
        self.reached, self.release = threading.Event(), threading.Event()
        monkeypatch.setattr(owner, name, self)

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        result = self.real(*args, **kwargs)
        if not self.reached.is_set() and self.when(*args, **kwargs):
            self.reached.set()
            self.release.wait(PAUSE)
        return result


def in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, list]:  # noqa: ANN001
    """Run fn on a thread; the list receives its result or the exception it raised."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(fn(*args, **kwargs))
        except BaseException as error:  # surfaced by the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def finished(thread: threading.Thread, outcome: list) -> object:
    thread.join(PAUSE * 2)
    assert not thread.is_alive(), "still running"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def test_a_withdrawal_does_not_wait_for_a_rebuild_and_the_rebuild_does_not_bring_it_back(
    instance, db, stories, queued_jobs, monkeypatch
):
    first, second = list(stories)[:2]
    # The rebuild has read the store (both stories still consented) and written its new public
    # file, and stops there, before it swaps the file in.
    paused = Paused(monkeypatch, publish, "write_tables", lambda db, audience, rows, interventions, **_: audience == "public")
    rebuild = in_thread(run_publish, instance)
    assert paused.reached.wait(PAUSE), "the rebuild never got to its public file"

    started = time.perf_counter()
    withdraw_story(instance, first, actor="t", reason="Asked by phone")
    took = time.perf_counter() - started
    assert took < QUICK, f"the withdrawal took {took:.1f} s: it waited for the rebuild"
    assert held(instance, first) == set()
    # Nor does the file the rebuild was writing, beside them, hold it (an attack read it there for the rebuild's length).
    assert find_traces(instance.published_dir, [stories[first]]) == []

    paused.release.set()
    counts = finished(*rebuild)  # it started again from the store, and finished
    assert counts == {audience: len(stories) - 1 for audience in PUBLISHED_AUDIENCES}
    assert held(instance, first) == set(), "the rebuild brought the withdrawn story back"
    assert traces(instance, stories[first]) == []
    assert held(instance, second) == set(PUBLISHED_AUDIENCES)
    assert queued_jobs.huey.pending_count() >= 1  # the withdrawal asked for a full rebuild after it


@pytest.mark.parametrize("paused_at", ["published_versions", "_change_in_place"])
def test_a_story_withdrawn_while_its_sign_off_is_being_published_is_never_published(
    instance, db, orgs, users, signed_form, stories, queued_jobs, monkeypatch, paused_at
):
    # An attack saw a story signed off and withdrawn 0.6 s apart appear in both files after its withdrawal.
    form = story_form(title="Signed off, then withdrawn", body="My name is Margaret Holt. I grow qwindle beans.")
    form["evidence_file"] = signed_form()
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    # The sign-off's change has read the store (the story allowed) and stops: before its identity step,
    # or before it takes the first file's lock.
    paused = Paused(monkeypatch, publish, paused_at, lambda *args, **kwargs: True)
    change = in_thread(publish.publish_changes, instance, [story_id])
    assert paused.reached.wait(PAUSE)

    withdraw_story(instance, story_id, actor="t", reason="Asked by phone")
    paused.release.set()
    finished(*change)

    assert held(instance, story_id) == set()
    assert find_traces(instance.published_dir, ["qwindle"]) == []


def test_a_withdrawal_committed_while_a_rebuild_swaps_its_files_in_is_still_taken_out(
    instance, db, stories, queued_jobs, monkeypatch
):
    story_id = list(stories)[0]
    withdrawal: list = []
    real_since = publish.removed_since
    calls = []

    def since(db, mark):  # noqa: ANN001, ANN202
        """The rebuild's last look at the store before it renames: the withdrawal commits just after it."""
        late = real_since(db, mark)
        calls.append(late)
        if len(calls) == 2 and not withdrawal:  # the second look is the one made under the swap lock
            withdrawal.append(in_thread(withdraw_story, instance, story_id, actor="t", reason="Asked by phone"))
            wait_for(lambda: real_since(instance.open(), mark), QUICK, "the withdrawal to reach the store")
        return late

    monkeypatch.setattr(publish, "removed_since", since)
    run_publish(instance)
    assert withdrawal, "the rebuild never looked at the store before its swap"
    finished(*withdrawal[0])
    assert held(instance, story_id) == set()
    assert traces(instance, stories[story_id]) == []


def test_two_withdrawals_at_once_each_take_their_story_out(instance, db, stories, queued_jobs, monkeypatch):
    first, second = list(stories)[:2]
    # The second withdrawal has copied the public file and taken its story out of the copy, and stops there.
    paused = Paused(monkeypatch, publish, "remove_stories", lambda db, audience, ids: second in ids and audience == "public")
    other = in_thread(withdraw_story, instance, second, actor="t", reason="Asked by phone")
    assert paused.reached.wait(PAUSE)
    withdraw_story(instance, first, actor="t", reason="Asked by email")  # runs to the end meanwhile
    paused.release.set()
    finished(*other)
    assert held(instance, first) == set() and held(instance, second) == set()
    assert traces(instance, stories[first]) == [] and traces(instance, stories[second]) == []


@pytest.mark.parametrize("secure_delete", [True, False], ids=["fts5-secure-delete", "index-merged"])
def test_a_file_a_withdrawal_changes_holds_no_trace_of_it_in_rows_search_index_or_free_pages(
    instance, db, stories, queued_jobs, monkeypatch, secure_delete
):
    # SQLite 3.42 and later take the story's words out of the index where they stand; an older
    # SQLite merges the whole index instead. Both must leave nothing.
    if secure_delete and not published_file.FTS5_SECURE_DELETE:
        pytest.skip("this SQLite predates FTS5's secure-delete")
    monkeypatch.setattr(published_file, "FTS5_SECURE_DELETE", secure_delete)
    story_id, word = next(iter(stories.items()))
    for audience in PUBLISHED_AUDIENCES:
        assert in_search_index(instance, audience, word) and searchable(instance, audience, word)

    withdraw_story(instance, story_id, actor="t", reason="Asked by phone")

    for audience in PUBLISHED_AUDIENCES:
        assert not searchable(instance, audience, word)
    # Not in the file, nor in a journal or any other file beside it (the journal of the change is gone).
    assert traces(instance, word) == []
    assert sorted(p.name for p in instance.published_dir.iterdir() if not p.name.startswith(".")) == [
        f"{audience}.db" for audience in sorted(PUBLISHED_AUDIENCES)
    ]
    # Every other story is still there and still found by search.
    for other, other_word in stories.items():
        if other != story_id and other_word:
            assert all(searchable(instance, audience, other_word) for audience in PUBLISHED_AUDIENCES)
    with sqlite3.connect(f"file:{instance.published_path('public')}?immutable=1", uri=True) as conn:
        assert conn.execute("SELECT count(*), stories FROM stories, publication").fetchone() == (3, 3)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def plain_words(count: int, seed: int) -> list[str]:
    """Everyday words (no name check stops a story of them), a different `count` for each seed."""
    words = sorted(w for w in (ROOT / "stories/data/common_words.txt").read_text().split() if w.isalpha() and len(w) >= 6)
    random.Random(0).shuffle(words)
    return words[seed * count : (seed + 1) * count]


def index_keys_telling(path, words: list[str]) -> list[str]:
    """Keys of the search index's block table (`stories_fts_idx`: the first word on each block, or enough
    of it) that begin one of these words and no other word the index holds: what a block key gives away."""
    with tempfile.TemporaryDirectory() as folder:  # fts5vocab is a virtual table: made on a copy, never the file
        copy = shutil.copy(path, folder)
        with sqlite3.connect(copy) as conn:
            conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, stories_fts, 'row')")
            held = sorted(set(row[0] for row in conn.execute("SELECT term FROM temp.terms")) - set(words))
            keys = [bytes(row[0])[1:].decode() for row in conn.execute("SELECT term FROM stories_fts_idx")]
    telling = []
    for key in keys:
        at = bisect.bisect_left(held, key)
        still_held = at < len(held) and held[at].startswith(key)
        if len(key) >= 3 and not still_held and any(word.startswith(key) for word in words):
            telling.append(key)
    return telling


def test_a_withdrawn_storys_words_leave_even_the_keys_of_the_search_index(instance, db, orgs, users, signed_form, queued_jobs):
    # Found by an outside attack: FTS5's secure-delete takes a story's words out of the index's blocks,
    # but not out of the keys its blocks are found by; whole withdrawn words were read there.
    others = plain_words(3000, seed=0) + plain_words(3000, seed=1)
    secret = plain_words(3000, seed=2)
    ids = []
    for n, words in enumerate((others[:3000], secret, others[3000:])):
        body = "My name is Margaret Holt. " + " ".join(words) + "."
        form = story_form(title=f"Story {n}", body=body, evidence_file=signed_form())
        ids.append(record_story(db, form, organisation_id=orgs["a"], actor="t"))
        approve_story(db, ids[-1], actor="t", user_id=users["reviewer"])
    run_publish(instance)  # the three stories' words merged into one segment: the secret ones start blocks
    path = instance.published_path("public")
    assert index_keys_telling(path, secret)  # words of the story do key blocks

    withdraw_story(instance, ids[1], actor="t", reason="Asked by phone")

    for audience in PUBLISHED_AUDIENCES:
        assert index_keys_telling(instance.published_path(audience), secret) == []
    assert searchable(instance, "public", others[0]) and not searchable(instance, "public", secret[0])


def test_the_search_index_is_written_afresh_only_when_a_block_key_would_tell(instance, db, stories, queued_jobs, monkeypatch):
    rewrites = []
    real = publish.rewrite_search_index
    monkeypatch.setattr(publish, "rewrite_search_index", lambda db: rewrites.append(1) or real(db))
    story_id, word = next(iter(stories.items()))  # a short story: its words key no block of this small index
    withdraw_story(instance, story_id, actor="t", reason="Asked by phone")
    assert traces(instance, word) == [] and not searchable(instance, "public", word)
    assert rewrites == []  # about 2.5 s a file at 100,000 stories, spared


def test_a_withdrawal_whose_process_died_before_the_files_is_finished_by_the_catch_up(instance, db, stories, queued_jobs):
    story_id = list(stories)[1]
    withdraw(db, story_id, actor="t", reason="Asked by phone")  # the store says withdrawn; then the process died
    assert held(instance, story_id) == set(PUBLISHED_AUDIENCES)
    assert catch_up_withdrawals(instance) == {story_id}
    assert held(instance, story_id) == set()
    assert traces(instance, stories[story_id]) == []
    assert catch_up_withdrawals(instance) == set()  # nothing left to do


# A change its process dies in, the story's rows deleted: with `spill`, so many pages changed that SQLite
# has written some into the file (its journal, holding the old pages, is "hot": SQLite must roll it back);
# without, the file untouched and the journal holding the old pages all the same.
DIES_MID_CHANGE = """
import os, sys
from stories.sqlite import sqlite3
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 1")
conn.execute("BEGIN")
conn.execute("DELETE FROM stories WHERE id = ?", [int(sys.argv[2])])
conn.execute("UPDATE stories SET body = upper(body)")
if sys.argv[3] == "spill":
    conn.execute("CREATE TABLE filler AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)"
                 " SELECT randomblob(4000) AS b FROM n")
os._exit(1)
"""
HOT_JOURNAL = bytes.fromhex("d9d505f920a163d7")  # a journal header SQLite plays back


def die_mid_change(path, story_id: int, spill: bool) -> bytes:
    """Run the dying change; returns its journal's first bytes."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", DIES_MID_CHANGE, str(path), str(story_id), "spill" if spill else ""], check=False)
    return path.with_name(path.name + "-journal").read_bytes()[:8]


@pytest.mark.parametrize("spill", [True, False], ids=["hot-journal", "journal-not-hot"])
def test_a_change_whose_process_died_mid_transaction_is_undone_then_finished_by_the_catch_up(
    instance, db, stories, queued_jobs, spill
):
    story_id = list(stories)[0]
    path = instance.published_path("public")
    withdraw(db, story_id, actor="t", reason="Asked by phone")  # the store says withdrawn; the change then died
    assert (die_mid_change(path, story_id, spill) == HOT_JOURNAL) is spill

    assert catch_up_withdrawals(instance) == {story_id}

    assert not path.with_name("public.db-journal").exists()
    assert held(instance, story_id) == set()
    assert find_traces(instance.published_dir, [stories[story_id]]) == []  # in no file there, journals included
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:  # as Datasette reads it
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM stories WHERE body = upper(body)").fetchone()[0] == 0  # half-change undone
        assert conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'filler'").fetchone()[0] == 0


def test_serve_rolls_back_a_change_a_crash_cut_short_within_its_half_second_look(instance, db, stories, queued_jobs):
    from pipelines.withdraw import CutShortRemovals

    path = instance.published_path("public")
    watch = CutShortRemovals(instance)
    assert die_mid_change(path, list(stories)[1], spill=True) == HOT_JOURNAL  # a sign-off's change, say: no removal
    with pytest.raises(sqlite3.OperationalError):  # Datasette reads read-only: SQLite refuses it a hot journal
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            conn.execute("SELECT count(*) FROM stories").fetchone()

    assert watch.finish() == set()  # what `serve` runs twice a second

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM stories").fetchone()[0] == len(stories)


def test_datasette_waits_out_a_change_a_crash_cut_short_instead_of_failing(instance, db, stories, queued_jobs):
    from conftest import datasette_get
    from stories.datasette_plugin import make_datasette

    path = instance.published_path("public")
    ds = make_datasette(instance)
    assert datasette_get(ds, "/public/stories.json").status_code == 200  # connections made before the crash
    assert die_mid_change(path, list(stories)[1], spill=True) == HOT_JOURNAL
    rolled_back = threading.Timer(0.5, publish.roll_back_cut_short_changes, [instance])  # serve's half-second look
    rolled_back.start()
    try:
        page = datasette_get(ds, "/public/stories.json?_shape=array")
    finally:
        rolled_back.join()
    assert page.status_code == 200, page.text  # an anonymous visitor got a 500 "Something went wrong" here
    assert len(page.json()) == len(stories)


def test_a_rebuild_never_renames_its_file_in_beside_a_dead_changes_journal(instance, db, stories, queued_jobs):
    path = instance.published_path("public")
    assert die_mid_change(path, list(stories)[1], spill=True) == HOT_JOURNAL

    run_publish(instance)  # had the old file's journal been left, SQLite would "roll back" the new file with it

    assert not path.with_name("public.db-journal").exists()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM stories").fetchone()[0] == len(stories)


def test_a_file_built_before_files_were_zeroed_is_rewritten_whole_when_changed(instance, db, stories, queued_jobs):
    path = instance.published_path("public")
    # As an older Storybank left its files: deleted bytes not zeroed (here a scratch table, dropped).
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA secure_delete = OFF")
        conn.execute("CREATE TABLE scratch (words TEXT)")
        conn.execute("INSERT INTO scratch VALUES (?)", ["qwobbledy " * 500])
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA secure_delete = OFF")
        conn.execute("DROP TABLE scratch")
        conn.execute("PRAGMA user_version = 0")
    assert b"qwobbledy" in path.read_bytes()

    withdraw_story(instance, next(iter(stories)), actor="t", reason="Asked by phone")

    assert b"qwobbledy" not in path.read_bytes()
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == publish.ZEROED_FORMAT


def test_counts_in_the_copy_are_those_a_full_rebuild_makes(instance, db, orgs, users, queued_jobs, signed_form):
    from conftest import add_tag
    from stories.interventions import add_intervention

    intervention = add_intervention(db, {"name": "Telephone befriending"}, provider_id=orgs["a"], actor="t")
    ids = []
    for n in range(6):
        form = story_form(title=f"Story {n}", interventions=[str(intervention)], evidence_file=signed_form())
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
        decide_name(db, story_id, "Priya", "keep", actor="t")
        approve_story(db, story_id, actor="t", user_id=users["reviewer"])
        add_tag(db, story_id, "relationships", "improved", evidence="I go to the lunch club.")  # 6 stories: 5 after
        if n < 5:
            add_tag(db, story_id, "health", "mixed", evidence="I feel like myself again.")  # 5 stories: 4 after
        ids.append(story_id)
    run_publish(instance)

    def counts() -> dict[str, list]:
        found = {}
        for audience in PUBLISHED_AUDIENCES:
            with sqlite3.connect(f"file:{instance.published_path(audience)}?immutable=1", uri=True) as conn:
                found[audience] = [
                    conn.execute("SELECT * FROM outcome_summary ORDER BY 1, 2, 3").fetchall(),
                    conn.execute("SELECT domain_label, direction, stories FROM outcome_summary ORDER BY 1, 2").fetchall(),
                    conn.execute("SELECT id, stories FROM interventions").fetchall(),
                    conn.execute("SELECT stories FROM publication").fetchall(),
                ]
        return found

    withdraw_story(instance, ids[0], actor="t", reason="Asked by phone")
    after_fast_path = counts()
    run_publish(instance)
    assert after_fast_path == counts()
    assert ("Our relationships", "improved", 5) in after_fast_path["commissioners"][1]
    assert ("Health", "mixed", 4) in after_fast_path["commissioners"][1]
