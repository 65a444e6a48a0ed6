"""Story records: recording a story with its consent, reading it back, and signing it off."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlite_utils

from stories import audit, exports, journal
from stories.clock import now_iso
from stories.clock import today as utc_today
from stories.consent import (
    AMENDED,
    AUDIENCES,
    FIRST_NAME,
    GIVEN,
    IDENTITY_LEVELS,
    LABELS,
    RENEWED,
    VERBAL,
    Consent,
    Decision,
    current_consent,
    publishable,
    validate_consent,
)
from stories.db import write_transaction
from stories.outcomes import person_level_domains
from stories.recorded_names import order_doubt, read_name, split_names
from stories.recordings import Recording, add_recording, latest_recordings, recording_for
from stories.statements import TAGS_SQL, Statement, read_statements, save_statements
from stories.stored_files import (
    AUDIO,
    EVIDENCE,
    UPLOAD_AGAIN,
    claim_upload,
    form_holders,
    is_pending,
    recording_taken,
    story_files,
)
from stories.story import Row, Story
from stories.validation import Invalid, Problems, optional_text, parse_date, required_text, split_list, text

MAX_TITLE = 200
MAX_BODY = 50_000
STATUSES = ("draft", "submitted", "approved")
FORM_TAKEN = (
    "This signed form is already on file as another storyteller's consent. A signed form is one person's consent:"
    " please upload the form this storyteller signed."
)
FORM_OTHER_NAMES = (
    "This signed form is on file for this reference under other names, none of them these. A form is the consent of"
    " the person who signed it: check the storyteller reference, or upload the form this storyteller signed. If they"
    " are the same person under another name, add that name too."
)
RECORDING_TAKEN = (
    "This recording is already another story's: a recording is one telling of one story. Choose this story's own recording."
)


@dataclasses.dataclass(frozen=True)
class NewStory:
    """A story's own fields as a form or an import row gives them, checked (its consent is checked apart)."""

    title: str
    body: str
    told_on: dt.date | None  # None only while a problem with it is reported
    storyteller_reference: str
    storyteller_names: tuple[str, ...]
    interventions: tuple[str, ...]  # ids or slugs, as given
    stated: tuple[Statement, ...] = ()  # the outcomes a person stated, with who said so (stories.statements)


def validate_story(problems: Problems, data: Mapping[str, Any], today: dt.date, source: str = "text") -> NewStory:
    """The story's own fields (not its consent), with every problem added.

    A recorded story's text comes later, from its transcript, so only a typed story needs a body.
    """
    told_on = parse_date(problems, data, "told_on", "Date told", required=True, missing="Enter the date the story was told.")
    if told_on and told_on > today:
        problems.add("told_on", "The date the story was told cannot be in the future.")
    names = [name for name in map(text, split_names(data.get("storyteller_names"))) if name]  # cleaned as all text is
    if any(len(name) > 120 for name in names):
        problems.add("storyteller_names", "Each name is at most 120 characters.")
    doubts = [doubt for doubt in map(order_doubt, names[:1]) if doubt]
    if doubts:
        problems.add("storyteller_names", doubts[0])
    reference = required_text(
        problems,
        data,
        "storyteller_reference",
        "Storyteller reference",
        60,
        missing="Enter your reference for the storyteller, e.g. BF-0012.",
    )
    return NewStory(
        title=required_text(problems, data, "title", "Title", MAX_TITLE, missing="Give the story a title."),
        body=required_text(problems, data, "body", "The story", MAX_BODY, missing="Type the story, or record or upload it.")
        if source == "text"
        else optional_text(problems, data, "body", "The story", MAX_BODY),
        told_on=told_on,
        storyteller_reference=reference,
        storyteller_names=tuple(names),
        interventions=tuple(text(i) for i in split_list(data.get("interventions"))),
        stated=read_statements(problems, data, person_level_domains()),
    )


def check_story(
    db: sqlite_utils.Database,
    data: Mapping[str, Any],
    today: dt.date,
    source: str = "text",
    problems: Problems | None = None,
    *,
    organisation_id: int,
    actor: str,
    recording: Recording | None = None,
) -> tuple[NewStory, Consent, list[int]]:
    """A story's fields, its consent and its intervention ids, or Invalid listing every problem.

    Pass `problems` already found elsewhere (an unreadable recording) to report them all together.
    `actor` is who is recording it: only files they uploaded can become its recording or evidence.
    """
    problems = problems or Problems()
    story = validate_story(problems, data, today, source)
    consent = validate_consent(problems, data, today)
    names = story.storyteller_names
    no_first_name = names and not read_name(names[0]).first
    if consent.identity_level == FIRST_NAME and no_first_name and "storyteller_names" not in problems.found:
        problems.add(
            "storyteller_names",
            f"“{names[0]}” has no first name, and the storyteller chose to be known by their first name only. "
            "Add their first name, or record the identity level they chose instead.",
        )
    if recording and recording_taken(db, recording.audio_file):
        problems.add("recording", RECORDING_TAKEN)
        recording = None
    elif recording and not is_pending(db, AUDIO, recording.audio_file, actor):
        problems.add("recording", UPLOAD_AGAIN[AUDIO])
        recording = None
    storyteller = _storyteller_id(db, organisation_id, story.storyteller_reference or "")
    consent = check_evidence(
        db, problems, consent, actor=actor, story_id=None, storyteller_id=storyteller, names=names, recording=recording
    )
    intervention_ids = _intervention_ids(db, problems, story.interventions)
    problems.raise_if_any()
    return story, consent, intervention_ids


def check_evidence(
    db: sqlite_utils.Database,
    problems: Problems,
    terms: Consent,
    *,
    actor: str,
    story_id: int | None,
    storyteller_id: int | None,
    names: Sequence[str] = (),
    recording: Recording | None,
) -> Consent:
    """Is the evidence real? A form this person just uploaded (or the story's own), a moment inside its recording.

    A signed form is one storyteller's consent: uploaded again, it may evidence several of their
    stories, never another storyteller's, however it arrives (uploaded, imported) and in whatever
    bytes (the same document is known by what it shows: `evidence.form_fingerprints`). A storyteller
    is their reference (`storyteller_id`, None for one not yet on file); a story of the same reference
    whose `names` share none with the stories the form is on file for is someone else's too: the
    reference was mistyped or reused. Returns the terms with a verbal consent's time bound to that
    recording, so replacing the recording later takes the evidence away.
    """
    form = terms.evidence_file
    if form:
        holders = form_holders(db, form)
        if not (is_pending(db, EVIDENCE, form, actor) or (story_id is not None and form in story_files(db, story_id))):
            problems.add("evidence_file", UPLOAD_AGAIN[EVIDENCE])
            terms = dataclasses.replace(terms, evidence_file=None)
        elif any(holder != storyteller_id for holder, _ in holders):
            problems.add("evidence_file", FORM_TAKEN)
            terms = dataclasses.replace(terms, evidence_file=None)
        elif any(not _share_a_name(names, signed_as) for _, signed_as in holders):
            problems.add("evidence_file", FORM_OTHER_NAMES)
            terms = dataclasses.replace(terms, evidence_file=None)
    if terms.method != VERBAL or terms.evidence_time is None:
        return terms
    if recording is None:
        if "recording" not in problems.found:  # a refused upload is reported already, in its own words
            problems.add(
                "evidence_time",
                "Verbal consent is a moment in the story's recording, and this story has no recording. "
                "Add the recording, or choose a consent form and upload the signed form.",
            )
    elif terms.evidence_time > recording.duration:
        problems.add("evidence_time", f"The recording is {_clock(recording.duration)} long: give a moment of consent within it.")
    else:
        terms = dataclasses.replace(terms, evidence_recording=recording.audio_file)
    return terms


def record_story(
    db: sqlite_utils.Database,
    data: Mapping[str, Any],
    *,
    organisation_id: int,
    actor: str,
    user_id: int | None = None,
    source: str = "text",
    status: str = "submitted",
    today: dt.date | None = None,
    recording: Recording | None = None,
    problems: Problems | None = None,
) -> int:
    """Validate and save a story with the consent given for it, and its recording if told aloud; returns its id.

    The recording and a signed consent form must be files `actor` uploaded and no story has claimed.
    Pass `problems` already found (an unreadable recording) to report them with the rest.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown story status {status!r}")
    if recording is not None:
        source = "audio"
    stamp = now_iso()
    with write_transaction(db):
        # Checked under the write lock, so an upload cannot be claimed twice or swept meanwhile.
        story, consent, intervention_ids = check_story(
            db, data, today or utc_today(), source, problems, organisation_id=organisation_id, actor=actor, recording=recording
        )
        storyteller_id = _ensure_storyteller(db, organisation_id, story.storyteller_reference, stamp)
        story_id = db.execute(
            "INSERT INTO stories (organisation_id, storyteller_id, storyteller_names, title, body, told_on, source,"
            " status, text_reviewed, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                organisation_id,
                storyteller_id,
                json.dumps(story.storyteller_names),
                story.title,
                story.body,
                story.told_on.isoformat(),  # checked: a story with no date raised Invalid
                source,
                status,
                int(source == "text"),
                user_id,
                stamp,
                stamp,
            ],
        ).lastrowid
        if recording is not None:
            claim_upload(db, AUDIO, recording.audio_file, actor)
            add_recording(
                db, story_id, audio_file=recording.audio_file, duration=recording.duration, codec=recording.codec, actor=actor
            )
        if consent.evidence_file:
            claim_upload(db, EVIDENCE, consent.evidence_file, actor)
        add_consent_event(db, story_id, GIVEN, actor, consent)
        for intervention_id in intervention_ids:
            db.execute("INSERT INTO story_interventions (story_id, intervention_id) VALUES (?, ?)", [story_id, intervention_id])
        save_statements(db, story_id, story.stated, body=story.body, actor=actor, user_id=user_id)
        audit.record(db, actor, "story.record", story_id, source=source)
    return story_id


def add_consent_event(
    db: sqlite_utils.Database,
    story_id: int,
    kind: str,
    actor: str,
    consent: Consent | None = None,
    reason: str = "",
    journal_entry: str | None = None,
) -> int:
    fields = consent.to_event_fields() if consent else {}
    columns = ["story_id", "kind", "recorded_at", "recorded_by", "reason", "journal_entry", *fields]
    values = [story_id, kind, now_iso(), actor, reason or None, journal_entry, *fields.values()]
    # Column names come from Consent.to_event_fields, never from input.
    cursor = db.execute(f"INSERT INTO consent_events ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", values)
    audit.record(db, actor, f"consent.{kind}", story_id)
    return cursor.lastrowid


def change_consent(
    db: sqlite_utils.Database, story_id: int, kind: str, data: Mapping[str, Any], *, actor: str, today: dt.date | None = None
) -> Consent:
    """Append new consent terms (given afresh, amended or renewed); returns them.

    Terms that reveal more than before (a wider audience, a less hidden identity, special-category
    details) send a signed-off story back for review: the sign-off was for the old terms.
    """
    if kind not in (GIVEN, AMENDED, RENEWED):
        raise ValueError(f"not a consent-terms event: {kind!r}")
    with write_transaction(db):
        events = list(db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]))
        if not events:
            raise Invalid({"story": "There is no such story."})
        problems = Problems()
        terms = validate_consent(problems, data, today or utc_today())
        storyteller = db.execute("SELECT storyteller_id, storyteller_names FROM stories WHERE id = ?", [story_id]).fetchone()
        terms = check_evidence(
            db,
            problems,
            terms,
            actor=actor,
            story_id=story_id,
            storyteller_id=storyteller[0] if storyteller else None,
            names=json.loads(storyteller[1]) if storyteller else [],
            recording=current_recording(db, story_id),
        )
        problems.raise_if_any()
        old = current_consent(events)
        if kind != GIVEN and (old is None or old.withdrawn):
            raise Invalid({"kind": "Consent was withdrawn: record fresh consent instead of amending or renewing it."})
        if terms.evidence_file:
            claim_upload(db, EVIDENCE, terms.evidence_file, actor)
        narrower = old is not None and not old.withdrawn and shows_less(old, terms)
        entry = journal.new_entry() if narrower else None
        add_consent_event(db, story_id, kind, actor, terms, journal_entry=entry)
        if entry:  # a restored backup must not bring the wider terms back
            journal.append(db, story_id, journal.NARROWED, actor, entry=entry, terms=journal_terms(terms))
            exports.recall_beyond(db, story_id, old, terms)
        if old is None or old.withdrawn or reveals_more(old, terms):
            back_to_review(db, story_id)
    return terms


def back_to_review(db: sqlite_utils.Database, story_id: int) -> None:
    """Lift a story's sign-off: what the reviewer signed off no longer holds."""
    db.execute(
        "UPDATE stories SET status = 'submitted', approved_by = NULL, approved_at = NULL, updated_at = ?"
        " WHERE id = ? AND status = 'approved'",
        [now_iso(), story_id],
    )


def mark_consent_time(db: sqlite_utils.Database, story_id: int, seconds: float, *, actor: str) -> None:
    """The moment in the recording where the storyteller gives verbal consent, as the consent's evidence."""
    with write_transaction(db):
        consent = current_consent(db.query("SELECT * FROM consent_events WHERE story_id = ?", [story_id]))
        if consent is None or consent.withdrawn:
            raise Invalid({"evidence_time": "Consent for this story is not in force."})
        if consent.method != VERBAL:
            raise Invalid(
                {
                    "evidence_time": f"Consent for this story was given on a {LABELS[consent.method].lower()}: a moment in the"
                    " recording is evidence only of verbal consent. Change the consent first if it was given aloud."
                }
            )
        recording = current_recording(db, story_id)
        if recording is None or not 0 <= seconds <= recording.duration:  # also refuses nan and infinity
            raise Invalid({"evidence_time": "Choose a moment within the recording."})
        # The same terms, now with their evidence: nothing more is revealed, so a sign-off stands.
        evidence = {"evidence_time": round(seconds, 1), "evidence_recording": recording.audio_file}
        add_consent_event(db, story_id, AMENDED, actor, dataclasses.replace(consent, **evidence))


def current_recording(db: sqlite_utils.Database, story_id: int) -> Recording | None:
    row = recording_for(db, story_id)
    return Recording(audio_file=row["audio_file"], duration=row["duration"], codec=row["codec"]) if row else None


def _share_a_name(names: Sequence[str], others: Sequence[str]) -> bool:
    """Do two lists of a person's recorded names share a given name or surname (or is either empty: nothing to go on)?

    Names change (marriage) and are written many ways ("Holt, Margaret", "Mrs M. Holt"), so one shared
    word will do; initials and titles are not words people share by being the same person.
    """

    def words(written: Sequence[str]) -> set[str]:
        return {part.strip(".").casefold() for name in written for part in read_name(name).parts if len(part.strip(".")) > 1}

    mine, theirs = words(names), words(others)
    return not mine or not theirs or bool(mine & theirs)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def reveals_more(old: Consent, new: Consent) -> bool:
    """Would the new terms show the story to more people, or show more of the storyteller?"""
    return (
        bool(new.audiences - old.audiences)
        or IDENTITY_LEVELS.index(new.identity_level) < IDENTITY_LEVELS.index(old.identity_level)
        or (new.special_category and not old.special_category)
    )


def shows_less(old: Consent, new: Consent) -> bool:
    """Do the new terms show the story to fewer people, or less of the storyteller, or for less long, in any respect?"""
    return (
        bool(old.audiences - new.audiences)
        or IDENTITY_LEVELS.index(new.identity_level) > IDENTITY_LEVELS.index(old.identity_level)
        or (old.special_category and not new.special_category)
        or new.review_on < old.review_on
    )


def journal_terms(terms: Consent) -> dict[str, Any]:
    """What a narrowing journals: the terms that decide who sees what (metadata, no words of the story)."""
    return {
        "audiences": sorted(terms.audiences),
        "identity_level": terms.identity_level,
        "special_category": terms.special_category,
        "review_on": terms.review_on.isoformat(),
    }


def approve_story(db: sqlite_utils.Database, story_id: int, *, actor: str, user_id: int) -> None:
    """A reviewer signs off the story's text and its publication under its consent."""
    with write_transaction(db):
        row = db.execute("SELECT status, text_reviewed FROM stories WHERE id = ?", [story_id]).fetchone()
        if row is None:
            raise Invalid({"story": "There is no such story."})
        if not row[1]:
            raise Invalid({"story": "The transcript must be reviewed before the story is signed off."})
        db.execute(
            "UPDATE stories SET status = 'approved', approved_by = ?, approved_at = ?, updated_at = ? WHERE id = ?",
            [user_id, now_iso(), now_iso(), story_id],
        )
        audit.record(db, actor, "story.approve", story_id)


def get_story(db: sqlite_utils.Database, story_id: int, organisation_id: int | None = None) -> Story | None:
    """A story with its consent, interventions and tags; None if absent or another organisation's."""
    rows = list(db.query(STORY_SQL + " WHERE stories.id = ?", [story_id]))
    if not rows or (organisation_id is not None and rows[0]["organisation_id"] != organisation_id):
        return None
    recording = recording_for(db, story_id)
    return _story(
        rows[0],
        consent_events=db.query("SELECT * FROM consent_events WHERE story_id = ? ORDER BY id", [story_id]),
        recording_file=recording["audio_file"] if recording else None,
        interventions=db.query(
            "SELECT interventions.* FROM interventions JOIN story_interventions ON intervention_id = interventions.id"
            " WHERE story_id = ? ORDER BY name",
            [story_id],
        ),
        tags=db.query(f"{TAGS_SQL} WHERE outcome_tags.story_id = ? ORDER BY start, id", [story_id]),
        name_decisions=db.query("SELECT * FROM name_decisions WHERE story_id = ?", [story_id]),
        verifications=db.query("SELECT story_id, kind FROM verifications WHERE story_id = ? ORDER BY id", [story_id]),
        msc_choices=db.query(MSC_CHOICES_SQL + " WHERE story_id = ? ORDER BY chosen_at", [story_id]),
    )


def _story(
    row: Mapping[str, Any],
    *,
    consent_events: Iterable[Row],
    recording_file: str | None,
    interventions: Iterable[Row],
    tags: Iterable[Row],
    name_decisions: Iterable[Row],
    verifications: Iterable[Row],
    msc_choices: Iterable[Row],
) -> Story:
    """A row of STORY_SQL and the rows linked to it, as one Story."""
    events = tuple(consent_events)
    return Story(
        id=row["id"],
        uid=row["uid"],
        organisation_id=row["organisation_id"],
        organisation=row["organisation"],
        area=row["area"],
        storyteller_id=row["storyteller_id"],
        storyteller_reference=row["storyteller_reference"],
        pseudonym_seed=row["pseudonym_seed"],
        storyteller_names=tuple(json.loads(row["storyteller_names"])),
        title=row["title"],
        body=row["body"],
        told_on=dt.date.fromisoformat(row["told_on"]),
        source=row["source"],
        status=row["status"],
        text_reviewed=bool(row["text_reviewed"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        approved_by=row["approved_by"],
        approved_at=row["approved_at"],
        consent=current_consent(events),
        consent_events=events,
        recording_file=recording_file,
        interventions=tuple(interventions),
        tags=tuple(tags),
        name_decisions={decision["name"]: decision for decision in name_decisions},
        verifications=tuple(verifications),
        msc_choices=tuple(msc_choices),
    )


def list_stories(
    db: sqlite_utils.Database,
    organisation_id: int,
    *,
    status: str | None = None,
    search: str = "",
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """An organisation's stories, newest told first; `search` matches title or storyteller reference."""
    sql, params = story_filter(organisation_id, status, search)
    sql = STORY_SQL + sql + " ORDER BY stories.told_on DESC, stories.id DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return list(db.query(sql, params))


def count_stories(db: sqlite_utils.Database, organisation_id: int, *, status: str | None = None, search: str = "") -> int:
    sql, params = story_filter(organisation_id, status, search)
    # Only a search reads the storyteller's reference (every story has one: storyteller_id is NOT NULL
    # and a foreign key); without it the count is read from the stories' own index alone.
    joined = " JOIN storytellers ON storytellers.id = stories.storyteller_id" if search.strip() else ""
    return db.execute("SELECT count(*) FROM stories" + joined + sql, params).fetchone()[0]


def story_filter(organisation_id: int, status: str | None, search: str) -> tuple[str, list[Any]]:
    sql, params = " WHERE stories.organisation_id = ?", [organisation_id]
    if status:
        sql += " AND stories.status = ?"
        params.append(status)
    if search.strip():
        sql += " AND (stories.title LIKE ? OR storytellers.reference LIKE ?)"
        params += [f"%{search.strip()}%"] * 2
    return sql, params


def consent_due(db: sqlite_utils.Database, organisation_id: int, today: dt.date, within_days: int = 30) -> list[dict[str, Any]]:
    """Stories whose consent review date has passed or falls in the next `within_days` days."""
    horizon = today + dt.timedelta(days=within_days)
    stories = {story["id"]: story for story in list_stories(db, organisation_id)}
    events: dict[int, list[dict[str, Any]]] = {story_id: [] for story_id in stories}
    for event in db.query(
        "SELECT consent_events.* FROM consent_events JOIN stories ON stories.id = story_id"
        " WHERE stories.organisation_id = ? ORDER BY consent_events.id",
        [organisation_id],
    ):
        events[event["story_id"]].append(event)
    due = []
    for story_id, story in stories.items():
        consent = current_consent(events[story_id])
        if consent is not None and not consent.withdrawn and consent.review_on <= horizon:
            due.append({**story, "review_on": consent.review_on, "overdue": consent.review_on < today})
    return sorted(due, key=lambda story: story["review_on"])


def publication_decisions(story: Story, names_resolved: bool, today: dt.date | None = None) -> dict[str, Decision]:
    """What each audience may see of this story today, with the reason."""
    state = story.state(names_resolved)
    return {audience: publishable(state, story.consent, audience, today or utc_today()) for audience in AUDIENCES}


def _storyteller_id(db: sqlite_utils.Database, organisation_id: int, reference: str) -> int | None:
    row = db.execute(
        "SELECT id FROM storytellers WHERE organisation_id = ? AND reference = ?", [organisation_id, reference]
    ).fetchone()
    return row[0] if row else None


def _ensure_storyteller(db: sqlite_utils.Database, organisation_id: int, reference: str, stamp: str) -> int:
    found = _storyteller_id(db, organisation_id, reference)
    if found is not None:
        return found
    # The pseudonym is derived from this random seed, never from the storyteller's name.
    return db.execute(
        "INSERT INTO storytellers (organisation_id, reference, pseudonym_seed, created_at) VALUES (?, ?, ?, ?)",
        [organisation_id, reference, secrets.token_hex(16), stamp],
    ).lastrowid


def _intervention_ids(db: sqlite_utils.Database, problems: Problems, wanted: Iterable[str]) -> list[int]:
    ids = []
    for item in wanted:
        row = db.execute("SELECT id FROM interventions WHERE id = ? OR slug = ?", [item, item]).fetchone()
        if row is None:
            problems.add("interventions", f"There is no intervention {item!r}.")
        elif row[0] not in ids:
            ids.append(row[0])
    return ids


STORY_SQL = (
    "SELECT stories.*, organisations.name AS organisation, organisations.area AS area,"
    " storytellers.reference AS storyteller_reference,"
    " storytellers.pseudonym_seed FROM stories"
    " JOIN organisations ON organisations.id = stories.organisation_id"
    " JOIN storytellers ON storytellers.id = stories.storyteller_id"
)

# A story's Most Significant Change choices, with the domain their published note names.
MSC_CHOICES_SQL = "SELECT msc_choices.*, msc_rounds.domain FROM msc_choices JOIN msc_rounds ON msc_rounds.id = round_id"


def stories_for_publication(db: sqlite_utils.Database, story_ids: Iterable[int] | None = None) -> list[Story]:
    """Every story (or only these) as `get_story` reads it, loaded in a few bulk queries for the publisher.

    Only confirmed tags are read: nothing else is published.
    """
    ids = None if story_ids is None else json.dumps(sorted(set(story_ids)))

    def only(column: str, joiner: str = "WHERE") -> tuple[str, list[str]]:
        # The same queries for all stories or a few: a publish reads them all, a check after a change one.
        return ("", []) if ids is None else (f" {joiner} {column} IN (SELECT value FROM json_each(?))", [ids])

    def rows(sql: str, column: str, order: str, joiner: str = "WHERE") -> Iterable[dict[str, Any]]:
        clause, params = only(column, joiner)
        return db.query(f"{sql}{clause} ORDER BY {order}", params)

    stories = {story["id"]: story for story in rows(STORY_SQL, "stories.id", "stories.id")}
    linked: dict[str, dict[int, list[Row]]] = {
        kind: {story_id: [] for story_id in stories}
        for kind in ("consent_events", "interventions", "tags", "name_decisions", "verifications", "msc_choices")
    }
    for event in rows("SELECT * FROM consent_events", "story_id", "id"):
        linked["consent_events"][event["story_id"]].append(event)
    for link in rows(
        "SELECT story_id, interventions.*, organisations.name AS provider FROM story_interventions"
        " JOIN interventions ON interventions.id = intervention_id"
        " JOIN organisations ON organisations.id = interventions.provider_id",
        "story_id",
        "interventions.name",
    ):
        linked["interventions"][link.pop("story_id")].append(link)
    confirmed = f"{TAGS_SQL} WHERE status = 'confirmed'"
    for tag in rows(confirmed, "outcome_tags.story_id", "outcome_tags.start, outcome_tags.id", "AND"):
        linked["tags"][tag["story_id"]].append(tag)
    for verification in rows("SELECT story_id, kind FROM verifications", "story_id", "id"):
        linked["verifications"][verification["story_id"]].append(verification)
    for choice in rows(MSC_CHOICES_SQL, "story_id", "chosen_at"):
        linked["msc_choices"][choice["story_id"]].append(choice)
    for decision in rows("SELECT * FROM name_decisions", "story_id", "story_id"):
        linked["name_decisions"][decision["story_id"]].append(decision)
    recordings = latest_recordings(db)
    return [
        _story(row, recording_file=recordings.get(story_id), **{kind: by_story[story_id] for kind, by_story in linked.items()})
        for story_id, row in stories.items()
    ]


def decide_name(db: sqlite_utils.Database, story_id: int, name: str, decision: str, *, placeholder: str = "", actor: str) -> None:
    """Record a reviewer's choice to keep or redact a person's name found in a story."""
    if decision not in ("keep", "redact"):
        raise Invalid({"decision": "For each name, choose Keep it or Replace it with a placeholder."})
    placeholder = text(placeholder)
    if decision == "redact" and placeholder and not (placeholder.startswith("[") and placeholder.endswith("]")):
        placeholder = f"[{placeholder}]"
    with write_transaction(db):
        if not db.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone():
            raise Invalid({"story": "There is no such story."})
        db.execute(
            "INSERT INTO name_decisions (story_id, name, decision, placeholder, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (story_id, name) DO UPDATE SET decision = excluded.decision, placeholder = excluded.placeholder,"
            " decided_by = excluded.decided_by, decided_at = excluded.decided_at",
            [story_id, name, decision, placeholder, actor, now_iso()],
        )
        audit.record(db, actor, "story.name_decision", story_id, decision=decision)
        # Journalled without the name: a restore that cannot redo it sends the story back for review.
        journal.append(db, story_id, journal.NAME_DECISION, actor, entry=journal.new_entry())
