"""When the published files follow a change: taken out now, rebuilt now, queued, or untouched — decided here, once.

Every use case names itself to `follow`; `AFTER` says what the published files do next and why,
so no view or command decides it on its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

import sqlite_utils

from pipelines.jobs import request_publish
from pipelines.publish import lapsed_files, remove_from_published, run_publish, stale_audiences
from pipelines.withdraw import CutShortRemovals, catch_up_withdrawals
from stories.clock import today as utc_today
from stories.db import write_transaction
from stories.instance import Instance
from stories.removals import record_removal, removal_underway


class After(enum.Enum):
    UNTOUCHED = "untouched"  # nothing a published file holds can have changed
    QUEUED = "queued"  # the worker brings the files up to date soon (the stories named, or all); nobody waits
    TAKEN_OUT_NOW = "taken out now"  # the story leaves every file before the person is answered; a rebuild follows
    REBUILT_NOW = "rebuilt now"  # the files are rebuilt before the person is answered


class UseCase(enum.Enum):
    RECORD = "record a story (typed, recorded or imported)"
    REVIEW_TRANSCRIPT = "review a transcript"
    CHANGE_CONSENT = "change consent"
    WITHDRAW = "withdraw from publication"
    ERASE = "erase"
    SIGN_OFF = "sign off"
    DECIDE_NAMES = "decide names"
    DECIDE_TAGS = "decide outcome tags"
    ADD_TAG = "add a tag"
    ASSURE = "member check, verification or an outcome linked"
    CHOOSE_MSC = "a Most Significant Change panel's choice"
    CHANGE_COMMITMENTS = "what a contract promised, entered or imported"
    PUBLISH = "publish"


AFTER: dict[UseCase, After] = {
    # A new story is not signed off, so no file may hold it yet; the same holds for a transcript's
    # review. A change to a story already published (its text edited, so sent back for review) is
    # caught for every request by `retract_stale`, whatever use case made it.
    UseCase.RECORD: After.UNTOUCHED,
    UseCase.REVIEW_TRANSCRIPT: After.UNTOUCHED,
    # Narrower terms have already left the files (`retract_stale`, after the request); whatever the
    # new terms allow can wait for the rebuild.
    UseCase.CHANGE_CONSENT: After.QUEUED,
    # A withdrawal never waits behind a rebuild (DESIGN decision 8): the fast path takes the story out
    # of each file where it lies, then a rebuild catches up with everything else.
    UseCase.WITHDRAW: After.TAKEN_OUT_NOW,
    UseCase.ERASE: After.TAKEN_OUT_NOW,
    # These only add to what may be published (or change it with the story's name review intact):
    # the worker's change to the story's copies (a fifth of a second at 100,000 stories) is soon enough and
    # costs the person nothing.
    UseCase.SIGN_OFF: After.QUEUED,
    UseCase.DECIDE_NAMES: After.QUEUED,
    UseCase.DECIDE_TAGS: After.QUEUED,
    UseCase.ADD_TAG: After.QUEUED,
    UseCase.ASSURE: After.QUEUED,
    UseCase.CHOOSE_MSC: After.QUEUED,
    # Commitments are published beside the stories that evidence them (stories/delivery.py); no story's
    # words change, so the next rebuild is soon enough.
    UseCase.CHANGE_COMMITMENTS: After.QUEUED,
    # Someone asked for the files (`storybank publish`, init, demo, restore) and waits to be told what they hold.
    UseCase.PUBLISH: After.REBUILT_NOW,
}


def follow(instance: Instance, use_case: UseCase, story_ids: list[int] | None = None, *, actor: str) -> dict[str, int]:
    """Bring the published files after a use case as `AFTER` says; returns stories per audience where files were made now."""
    after = AFTER[use_case]
    if after is After.QUEUED:
        request_publish(instance, story_ids)  # the stories' copies only; every file rebuilt when none are named
    elif after is After.TAKEN_OUT_NOW:
        return take_out_now(instance, story_ids or [], actor=actor)
    elif after is After.REBUILT_NOW:
        return run_publish(instance, actor=actor)
    return {}


def take_out_now(instance: Instance, story_ids: list[int], *, actor: str) -> dict[str, int]:
    """Take these stories out of every published file now (tenths of a second), then queue a rebuild."""
    try:
        return remove_from_published(instance, story_ids, actor=actor)
    finally:
        request_publish(instance)  # if the fast path failed, the rebuild still leaves them out


def retract_stale(instance: Instance, db: sqlite_utils.Database, story_ids: set[int], *, actor: str) -> set[int]:
    """Stories whose published copy no longer matches what the store allows leave every file at once.

    After any change (consent narrowed, a name decided, a published text edited and so sent back
    for review), no file may go on showing the old words until a rebuild gets round to it: the
    withdrawal's fast path takes the story out now, noted like a withdrawal so a rebuild already
    running takes it out too, and a change queued behind (the stories' copies only, not a rebuild)
    puts back whatever is still allowed.
    """
    stale = {story_id: tuple(audiences) for story_id in story_ids if (audiences := stale_audiences(instance, db, story_id))}
    if not stale:
        return set()
    with removal_underway(instance):  # a process killed before the end leaves it to `serve` (CutShortRemovals)
        with write_transaction(db):
            for story_id in sorted(stale):
                record_removal(db, story_id)
        try:
            # Only from the files whose copy is stale: narrowing away the public leaves the commissioners' copy be.
            for audiences in sorted(set(stale.values())):
                ids = sorted(story_id for story_id, stale_in in stale.items() if stale_in == audiences)
                remove_from_published(instance, ids, actor=actor, audiences=audiences)
        finally:
            request_publish(instance, sorted(stale))  # if the fast path failed, the change still takes the old words out
    return set(stale)


@dataclasses.dataclass(frozen=True)
class Prepared:
    rebuilt: dict[str, int]  # stories per audience, where the files had to be rebuilt first
    lapsed: list[str]  # the audiences whose file was missing or past a consent review date
    finished: set[int]  # withdrawals a crash cut short, finished now

    def message(self) -> str:
        if self.lapsed:
            return (
                f"Rebuilt the published files before serving them ({', '.join(self.lapsed)}: missing or past a consent"
                " review date): " + ", ".join(f"{n} stories for {audience}" for audience, n in self.rebuilt.items())
            )
        done = f" Finished {len(self.finished)} withdrawal(s) cut short by a crash." if self.finished else ""
        return f"Serving the published files as they are; the worker rebuilds them in the background.{done}"


def prepare_to_serve(instance: Instance, *, today: dt.date | None = None) -> Prepared:
    """Make the published files fit to serve at once, rebuilding first only when they are not.

    A file that is missing or holds a story past its consent review date is rebuilt before
    anything serves it (fail closed). Otherwise the files are served as they are: any withdrawal
    a crash cut short is finished first (seconds), and a full rebuild is queued for the worker.
    """
    lapsed = lapsed_files(instance, today or utc_today())
    if lapsed:
        return Prepared(run_publish(instance, actor="serve"), lapsed, set())
    finished = catch_up_withdrawals(instance)
    request_publish(instance)
    return Prepared({}, [], finished)


def finish_withdrawals_cut_short(instance: Instance, *, actor: str) -> set[int]:
    """Take out of the published files any story a killed process left in them after its withdrawal,
    and ask for a rebuild: a worker killed mid-job takes a sign-off's change with it (publishing jobs
    are not tracked as transcriptions are), and an attack saw the story wait for the next rebuild."""
    finished = catch_up_withdrawals(instance, actor=actor)
    request_publish(instance)
    return finished


def watch_for_removals_cut_short(instance: Instance) -> CutShortRemovals:
    """What `serve` asks twice a second: a removal whose process died (a killed `storybank withdraw`), finished now.

    Made before serve's first catch-up, so nothing committed meanwhile is missed."""
    return CutShortRemovals(instance)
