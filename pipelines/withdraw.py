"""Finish withdrawals a crash cut short: the published files must not go on holding a withdrawn story."""

from __future__ import annotations

from stories.instance import Instance
from stories.removals import last_removal, removal_at_work, still_removed


def catch_up_withdrawals(instance: Instance, *, actor: str = "system:catch-up", since: int = 0) -> set[int]:
    """Take out of the published files any story the store says is withdrawn (removals after `since`).

    A process killed between committing a withdrawal and swapping in the files leaves them
    holding the story, and its half-built copies lying about; `storybank serve` runs this before
    serving and the worker every minute. Returns the stories taken out now.
    """
    from pipelines.publish import remove_from_published, remove_stale_builds, stories_held

    remove_stale_builds(instance)  # what the dead process was building may hold the story
    with instance.connection() as db:
        removed = still_removed(db, since)
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
        with instance.connection() as db:
            self.seen = last_removal(db)

    def finish(self) -> set[int]:
        """The stories taken out of the published files now (usually none); first, any change a crash cut
        short is rolled back, so Datasette can read the file again within a second, not the worker's minute."""
        from pipelines.jobs import request_publish
        from pipelines.publish import roll_back_cut_short_changes

        roll_back_cut_short_changes(self.instance)
        with self.instance.connection() as db:
            newest = last_removal(db)
        if newest == self.seen or removal_at_work(self.instance):
            return set()
        finished = catch_up_withdrawals(self.instance, actor="system:serve", since=self.seen)
        self.seen = newest
        if finished:
            request_publish(self.instance)  # the rebuild the dead process never asked for
        return finished
