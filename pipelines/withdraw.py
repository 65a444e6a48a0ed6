"""Withdraw or erase a story and take it out of every published file at once."""

from __future__ import annotations

import sqlite_utils

from stories.db import write_transaction
from stories.instance import Instance
from stories.removals import last_removal, record_removal, removal_at_work, removal_underway, still_removed
from stories.withdrawal import erase, withdraw


def run_withdrawal(instance: Instance, story_id: int, *, actor: str, reason: str, erase_story: bool = False) -> dict[str, int]:
    """Withdraw (or erase) one story (journalled as it is), remove it from the published files, then delete its files.

    The store says so first (committed), so a rebuild running meanwhile takes the story out too;
    then the published files are copied without it (about a second each, whatever is running);
    a full rebuild is queued behind that to catch up with anything else that changed.
    """
    from pipelines.jobs import request_publish
    from pipelines.publish import remove_from_published

    with removal_underway(instance):  # a process killed before the end leaves it to `serve` (CutShortRemovals)
        db = instance.open()
        try:
            if erase_story:
                doomed = erase(db, story_id, actor=actor, reason=reason, files=[instance.evidence_dir, instance.audio_dir])
            else:
                withdraw(db, story_id, actor=actor, reason=reason)
                doomed = []
        finally:
            db.close()
        for path in doomed:  # first: a crash later in the withdrawal must not leave a consent form or recording behind
            path.unlink(missing_ok=True)
        try:
            return remove_from_published(instance, [story_id], actor=actor)
        finally:
            request_publish(instance)  # if the fast path failed, the rebuild still leaves the story out


def catch_up_withdrawals(instance: Instance, *, actor: str = "system:catch-up", since: int = 0) -> set[int]:
    """Finish withdrawals cut short: take out of the published files any story the store says is withdrawn.

    A process killed between committing a withdrawal and swapping in the files leaves them
    holding the story, and its half-built copies lying about; `storybank serve` runs this before
    serving and whenever a removal is left unfinished, the worker every minute. `since`: only
    removals after that number. Returns the stories taken out now.
    """
    from pipelines.publish import remove_from_published, remove_stale_builds, stories_held

    remove_stale_builds(instance)  # what the dead process was building may hold the story
    db = instance.open()
    try:
        removed = still_removed(db, since)
    finally:
        db.close()
    held = stories_held(instance, removed) if removed else set()
    if held:
        remove_from_published(instance, sorted(held), actor=actor)
    return held


class CutShortRemovals:
    """`storybank serve` looks twice a second: a removal committed by a process that then died is finished at once.

    A killed `storybank withdraw` is no child of serve's, so nothing else would notice it before the
    worker's minute. Looking costs one query while nothing changes; a new removal is finished only
    once no live process is at work on removals (`removal_at_work`), so a withdrawal is never copied twice.
    """

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        db = instance.open()
        try:
            self.seen = last_removal(db)
        finally:
            db.close()

    def finish(self) -> set[int]:
        """The stories taken out of the published files now (usually none)."""
        from pipelines.jobs import request_publish

        db = self.instance.open()
        try:
            newest = last_removal(db)
        finally:
            db.close()
        if newest == self.seen or removal_at_work(self.instance):
            return set()
        finished = catch_up_withdrawals(self.instance, actor="system:serve", since=self.seen)
        self.seen = newest
        if finished:
            request_publish(self.instance)  # the rebuild the dead process never asked for
        return finished


def retract_if_stale(instance: Instance, db: sqlite_utils.Database, story_ids: set[int], *, actor: str) -> set[int]:
    """Stories whose published copy no longer matches what the store allows leave every file at once.

    After any change (consent narrowed, a name decided, a published text edited and so sent back
    for review), no file may go on showing the old words until a rebuild gets round to it: the
    withdrawal's fast path takes the story out now, noted like a withdrawal so a rebuild already
    running takes it out too, and the rebuild queued behind puts back whatever is still allowed.
    """
    from pipelines.jobs import request_publish
    from pipelines.publish import remove_from_published, stale_audiences

    stale = {story_id for story_id in story_ids if stale_audiences(instance, db, story_id)}
    if not stale:
        return stale
    with removal_underway(instance):
        with write_transaction(db):
            for story_id in sorted(stale):
                record_removal(db, story_id)
        try:
            remove_from_published(instance, sorted(stale), actor=actor)
        finally:
            request_publish(instance)  # if the fast path failed, the rebuild still leaves them out
    return stale
