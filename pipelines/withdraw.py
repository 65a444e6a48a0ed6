"""Withdraw or erase a story and republish at once, so no published file keeps it a moment longer."""

from __future__ import annotations

from stories.consent import ERASED, WITHDRAWN
from stories.instance import Instance
from stories.withdrawal import erase, journal, withdraw


def run_withdrawal(instance: Instance, story_id: int, *, actor: str, reason: str, erase_story: bool = False) -> dict[str, int]:
    """Withdraw (or erase) one story, journal it, remove its files, and rebuild the published files."""
    from pipelines.publish import run_publish

    db = instance.open()
    try:
        if erase_story:
            doomed = erase(db, story_id, actor=actor, reason=reason, files=[instance.evidence_dir, instance.audio_dir])
            journal(instance.root, story_id, ERASED, actor)
        else:
            withdraw(db, story_id, actor=actor, reason=reason)
            doomed = []
            journal(instance.root, story_id, WITHDRAWN, actor)
    finally:
        db.close()
    # Published files first: they are what the world can see.
    counts = run_publish(instance, actor=actor)
    for path in doomed:
        path.unlink(missing_ok=True)
    return counts
