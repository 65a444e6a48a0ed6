"""Finish withdrawals a crash cut short: the published files must not go on holding a withdrawn story."""

from __future__ import annotations

from stories.instance import Instance
from stories.removals import still_removed


def catch_up_withdrawals(instance: Instance, *, actor: str = "system:catch-up") -> set[int]:
    """Take out of the published files any story the store says is withdrawn.

    A process killed between committing a withdrawal and swapping in the files leaves them
    holding the story, and its half-built copies lying about; `storybank serve` runs this before
    serving and the worker every minute. Returns the stories taken out now.
    """
    from pipelines.publish import remove_from_published, remove_stale_builds, stories_held

    remove_stale_builds(instance)  # what the dead process was building may hold the story
    with instance.connection() as db:
        removed = still_removed(db)
    held = stories_held(instance, removed) if removed else set()
    if held:
        remove_from_published(instance, sorted(held), actor=actor)
    return held
