"""Evidence for evaluators: the commissioners' stories as a REFI-QDA project, and the codebook alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import sqlite_utils

from pipelines import qda_export
from pipelines.publish import published_rows, published_versions
from stories import exports
from stories.auth import User
from stories.clock import today as utc_today
from stories.consent import COMMISSIONERS
from stories.db import read_snapshot, write_transaction
from stories.framework_store import frameworks_in_use
from stories.frameworks import Domain, Framework
from stories.instance import Instance
from stories.outcomes import domain_label
from stories.records import stories_for_publication
from stories.removals import last_removal, removed_since
from stories.story import Story
from stories.validation import Invalid

PROJECT_KIND = "qdpx"


@dataclasses.dataclass(frozen=True)
class Download:
    content: bytes
    filename: str
    media_type: str
    stories: int = 0
    codings: int = 0


def evaluation_codebook(instance: Instance) -> Download:
    """The outcome frameworks in use as a REFI-QDA codebook (`.qdc`): no story in it, so nothing to register."""
    return Download(qda_export.codebook(frameworks_in_use(instance)), "storybank-codebook.qdc", "application/xml")


def export_evaluation_project(
    instance: Instance, db: sqlite_utils.Database, *, by: User, today: dt.date | None = None, now: dt.datetime | None = None
) -> Download:
    """Every story published to commissioners today, as they read it, coded by its confirmed outcomes (`.qdpx`).

    Built through the identity step the commissioners' file is built from, and by the same
    `publishable` decision, so a withdrawn story is in no new export. Each story in it is entered in
    the export register, so its holder is asked to destroy it if the storyteller withdraws later;
    a story withdrawn while the file was being made is left out of it before anything is handed over.
    """
    if not by.role.can_export_evaluation_project():
        raise Invalid({"export": "Only commissioners and administrators can export the evidence for evaluators."})
    today, now = today or utc_today(), now or dt.datetime.now(dt.UTC)
    with read_snapshot(db):
        stories = stories_for_publication(db)
        mark = last_removal(db)
    versions = published_versions(db, stories)
    rows = list(published_rows(stories, COMMISSIONERS, today, versions))
    if not rows:
        raise Invalid({"export": "No story is published to commissioners yet, so there is nothing to export."})
    by_id = {story.id: story for story in stories}
    sources = {row["id"]: qda_export.source_from(row, by_id[row["id"]], versions[row["id"]]) for row in rows}
    frameworks = _codebook_for(instance, sources.values())
    while True:
        content = qda_export.project(
            f"Storybank evidence for commissioners, {today.isoformat()}",
            _description(by, today),
            frameworks,
            sources.values(),
            user=(str(by.id), by.display_name),
            at=now,
        )
        with write_transaction(db):
            late = removed_since(db, mark) & set(sources)
            if not late:
                exports.record_exports(
                    db,
                    {story_id: _consent_version(by_id[story_id]) for story_id in sources},
                    user_id=by.id,
                    actor=by.actor,
                    kind=PROJECT_KIND,
                    audience=COMMISSIONERS,
                )
                break
        for story_id in late:  # withdrawn since the stories were read: made again without them
            del sources[story_id]
    codings = sum(len(source.codings) for source in sources.values())
    filename = f"storybank-evidence-{today.isoformat()}.qdpx"
    return Download(content, filename, "application/zip", stories=len(sources), codings=codings)


def _consent_version(story: Story) -> int | None:
    return story.consent.version if story.consent else None


def _codebook_for(instance: Instance, sources: Iterable[qda_export.Source]) -> list[Framework]:
    """The frameworks in use, and any framework a confirmed tag names that is no longer among them."""
    frameworks = frameworks_in_use(instance)
    known = {(framework.id, domain.id) for framework in frameworks for domain in framework.domains}
    missing: dict[str, dict[str, Domain]] = {}
    for source in sources:
        for coding in source.codings:
            if (coding.framework, coding.domain) not in known:
                missing.setdefault(coding.framework, {})[coding.domain] = Domain(coding.domain, domain_label(coding.domain))
    extra = [Framework(fid, fid, "", tuple(domains.values()), ()) for fid, domains in missing.items()]
    return [*frameworks, *extra]


def _description(by: User, today: dt.date) -> str:
    return (
        f"Stories published to commissioners through Storybank, exported on {today.isoformat()} by {by.display_name}. "
        "Each story is shown as its storyteller consented to commissioners reading it: named, by first name, under a "
        "pseudonym or anonymously. Codes are the outcome frameworks: each domain has a code for each direction of "
        "change, and each coding is an outcome a person confirmed, on the storyteller's own words that show it. "
        "Each story's variables give the month it was told, its organisation, area, interventions, contracts and "
        "how it was verified. This copy is in Storybank's export register: if a storyteller withdraws consent, you "
        "will be asked to delete their story (named 'Story <number>') from your project."
    )
