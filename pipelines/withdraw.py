"""Withdraw or erase a story and take it out of every published file at once."""

from __future__ import annotations

from stories.consent import ERASED, WITHDRAWN
from stories.instance import Instance
from stories.withdrawal import erase, journal, story_uid, withdraw


def run_withdrawal(instance: Instance, story_id: int, *, actor: str, reason: str, erase_story: bool = False) -> dict[str, int]:
    """Withdraw (or erase) one story, journal it, remove it from the published files, then delete its files.

    The published files are copied without the story straight away (seconds, whatever their size);
    a full rebuild is queued behind that to catch up with anything else that changed.
    """
    from pipelines.jobs import request_publish
    from pipelines.publish import remove_from_published

    db = instance.open()
    try:
        uid = story_uid(db, story_id)
        if erase_story:
            doomed = erase(db, story_id, actor=actor, reason=reason, files=[instance.evidence_dir, instance.audio_dir])
            journal(instance.root, story_id, ERASED, actor, story_uid=uid)
        else:
            entry = withdraw(db, story_id, actor=actor, reason=reason)
            doomed = []
            if entry:  # None: it was withdrawn already, and that withdrawal is journalled
                journal(instance.root, story_id, WITHDRAWN, actor, story_uid=uid, entry=entry)
    finally:
        db.close()
    counts = remove_from_published(instance, [story_id], actor=actor)
    for path in doomed:
        path.unlink(missing_ok=True)
    request_publish(instance)
    return counts
