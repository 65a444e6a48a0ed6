"""A story as read from the store: its own fields, its consent in force, and what is linked to it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from stories.consent import Consent, StoryState

# One row of a table linked to the story (an outcome tag, an intervention, a consent event, a name
# decision, a verification, a Most Significant Change choice), with the store's column names.
Row = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Story:
    """One story with everything its pages, its published versions and its case studies read.

    `records.get_story` and `records.stories_for_publication` make these; nothing writes through one.
    """

    id: int
    uid: str  # never reused, even after a restore brings an id round again
    organisation_id: int
    organisation: str  # the recording organisation's name
    area: str
    storyteller_id: int
    storyteller_reference: str
    pseudonym_seed: str  # a pseudonym is derived from this, never from the storyteller's names
    storyteller_names: tuple[str, ...]  # the name first, then aliases, as recorded
    title: str
    body: str  # the typed story, or its transcript
    told_on: dt.date
    source: str  # "text" (typed) or "audio" (told aloud)
    status: str  # draft | submitted | approved
    text_reviewed: bool
    created_by: int | None
    created_at: str
    updated_at: str
    approved_by: int | None
    approved_at: str | None
    consent: Consent | None  # the terms in force, derived from `consent_events`; None if never given
    consent_events: tuple[Row, ...]  # the consent history, oldest first
    recording_file: str | None  # the stored name of its latest recording
    interventions: tuple[Row, ...]  # by name; `stories_for_publication`'s carry their `provider`'s name
    tags: tuple[Row, ...]  # outcome tags in text order; `stories_for_publication` reads only confirmed ones
    name_decisions: Mapping[str, Row]  # a reviewer's keep-or-redact decision, by the name found
    verifications: tuple[Row, ...]
    msc_choices: tuple[Row, ...]  # each with the `domain` of its round, oldest first

    @property
    def told_aloud(self) -> bool:
        """Its text is a transcript, which spells names as it heard them (so sound-alikes count as the storyteller's)."""
        return self.source == "audio"

    def state(self, names_resolved: bool) -> StoryState:
        """The facts besides consent that publication depends on."""
        return StoryState(
            status=self.status, text_reviewed=self.text_reviewed, names_resolved=names_resolved, recording=self.recording_file
        )
