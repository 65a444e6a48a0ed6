"""Schema of the working store as registered migrations, applied in order exactly once.

A migration's name is its key in `_migrations`, so a name is never changed once released; the order is
this file's order, not the number in the name (branches built side by side numbered theirs alike).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from stories.db import write_transaction
from stories.text import clean, clean_with_offsets, selected_span

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every migration not yet applied; returns the names applied now."""
    applied_now = []
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, fn in MIGRATIONS:
        with write_transaction(db):
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone():
                continue
            fn(db)
            db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", [name])
            applied_now.append(name)
    return applied_now


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    # executescript() would commit mid-migration, so statements run one at a time.
    for statement in INITIAL_SCHEMA.split(";\n"):
        if statement.strip():
            db.execute(statement)


# AUTOINCREMENT on stories: an erased story's id must never be reused, or a tombstone
# (re-applied by `storybank restore`) could erase a different story.
INITIAL_SCHEMA = """
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'charity',
    area TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('worker', 'reviewer', 'commissioner', 'presenter', 'admin')),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    active INTEGER NOT NULL DEFAULT 1,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE TABLE storytellers (
    id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    reference TEXT NOT NULL,
    pseudonym_seed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (organisation_id, reference)
);
CREATE TABLE stories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    storyteller_id INTEGER NOT NULL REFERENCES storytellers(id),
    storyteller_names TEXT NOT NULL DEFAULT '[]',
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    told_on TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'text' CHECK (source IN ('text', 'audio')),
    status TEXT NOT NULL DEFAULT 'submitted' CHECK (status IN ('draft', 'submitted', 'approved')),
    text_reviewed INTEGER NOT NULL DEFAULT 1,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    approved_by INTEGER REFERENCES users(id),
    approved_at TEXT
);
CREATE INDEX stories_organisation ON stories(organisation_id);
CREATE TABLE consent_events (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('given', 'amended', 'renewed', 'withdrawn', 'erased')),
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    given_by TEXT,
    age_band TEXT,
    witness TEXT,
    method TEXT,
    info_sheet_version TEXT,
    audiences TEXT,
    identity_level TEXT,
    special_category INTEGER,
    given_on TEXT,
    review_on TEXT,
    evidence_file TEXT,
    evidence_time REAL,
    reason TEXT
);
CREATE INDEX consent_events_story ON consent_events(story_id);
CREATE TRIGGER consent_events_append_only BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END;
CREATE TABLE interventions (
    id INTEGER PRIMARY KEY,
    slug TEXT UNIQUE,
    name TEXT NOT NULL,
    provider_id INTEGER NOT NULL REFERENCES organisations(id),
    commissioner TEXT NOT NULL DEFAULT '',
    contract_ref TEXT NOT NULL DEFAULT '',
    contract_ref_kind TEXT NOT NULL DEFAULT 'local' CHECK (contract_ref_kind IN ('ocds', '360giving', 'local')),
    social_value_theme TEXT NOT NULL DEFAULT '',
    starts_on TEXT,
    ends_on TEXT,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE story_interventions (
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    intervention_id INTEGER NOT NULL REFERENCES interventions(id),
    PRIMARY KEY (story_id, intervention_id)
);
CREATE INDEX story_interventions_intervention ON story_interventions(intervention_id);
CREATE TABLE outcome_tags (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    framework TEXT NOT NULL,
    framework_version TEXT NOT NULL,
    domain TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('improved', 'worsened', 'mixed', 'mentioned')),
    start INTEGER,
    "end" INTEGER,
    evidence TEXT,
    audio_start REAL,
    audio_end REAL,
    origin TEXT NOT NULL CHECK (origin IN ('machine', 'person')),
    confidence REAL,
    rule TEXT,
    provenance TEXT,
    status TEXT NOT NULL DEFAULT 'suggested' CHECK (status IN ('suggested', 'confirmed', 'rejected')),
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX outcome_tags_story ON outcome_tags(story_id);
CREATE TABLE name_decisions (
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('keep', 'redact')),
    placeholder TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (story_id, name)
);
CREATE TABLE tombstones (
    story_id INTEGER PRIMARY KEY,
    erased_at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    story_id INTEGER,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_story ON audit_log(story_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
"""


@migration
def m002_export_register(db: sqlite_utils.Database) -> None:
    # No foreign key to stories: the register must outlive an erased story, so its holders
    # can still be asked to destroy their copies. It holds ids only, never story content.
    db.execute(
        """CREATE TABLE exports (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL,
            audience TEXT NOT NULL,
            consent_version INTEGER,
            exported_at TEXT NOT NULL,
            destroy_requested_at TEXT,
            destroyed_at TEXT
        )"""
    )
    db.execute("CREATE INDEX exports_story ON exports(story_id)")
    db.execute("CREATE INDEX exports_user ON exports(user_id)")


@migration
def m003_recordings_transcripts_jobs(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            audio_file TEXT NOT NULL,
            duration REAL NOT NULL,
            codec TEXT NOT NULL,
            uploaded_by TEXT NOT NULL,
            uploaded_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX recordings_story ON recordings(story_id)")
    # The machine's segments are kept as they came (provenance); the reviewed ones are what people read.
    db.execute(
        """CREATE TABLE transcripts (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            language TEXT,
            machine_segments TEXT NOT NULL,
            segments TEXT NOT NULL,
            created_at TEXT NOT NULL,
            reviewed_by TEXT,
            reviewed_at TEXT
        )"""
    )
    db.execute("CREATE INDEX transcripts_story ON transcripts(story_id)")
    db.execute(
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('transcribe', 'tag')),
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
            progress REAL NOT NULL DEFAULT 0,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX jobs_story ON jobs(story_id)")
    db.execute("CREATE INDEX jobs_status ON jobs(status)")


@migration
def m004_assurance(db: sqlite_utils.Database) -> None:
    # How we know a story is true: the storyteller confirmed the written story (member check),
    # and a second person verified it, with an optional note of supporting evidence.
    db.execute(
        """CREATE TABLE verifications (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('member_check', 'second_person')),
            method TEXT NOT NULL,
            verified_on TEXT NOT NULL,
            user_id INTEGER REFERENCES users(id),
            verified_by TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX verifications_story ON verifications(story_id)")
    # Which intervention an outcome came from, whether from the core service or an added
    # commitment, and the storyteller's own words about what made the difference.
    db.execute("ALTER TABLE outcome_tags ADD COLUMN intervention_id INTEGER REFERENCES interventions(id)")
    db.execute("ALTER TABLE outcome_tags ADD COLUMN contribution TEXT CHECK (contribution IN ('inherent', 'additional'))")
    db.execute("ALTER TABLE outcome_tags ADD COLUMN contribution_statement TEXT")


@migration
def m005_case_studies_and_msc(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE case_studies (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            created_by INTEGER NOT NULL REFERENCES users(id),
            title TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',
            quotes TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX case_studies_story ON case_studies(story_id)")
    # Most Significant Change: a panel shortlists stories in one domain, chooses one, and says why.
    db.execute(
        """CREATE TABLE msc_rounds (
            id INTEGER PRIMARY KEY,
            organisation_id INTEGER NOT NULL REFERENCES organisations(id),
            domain TEXT NOT NULL,
            title TEXT NOT NULL,
            panel TEXT NOT NULL DEFAULT '',
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE msc_shortlist (
            round_id INTEGER NOT NULL REFERENCES msc_rounds(id) ON DELETE CASCADE,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            added_at TEXT NOT NULL,
            PRIMARY KEY (round_id, story_id)
        )"""
    )
    db.execute(
        """CREATE TABLE msc_choices (
            round_id INTEGER PRIMARY KEY REFERENCES msc_rounds(id) ON DELETE CASCADE,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            chosen_by INTEGER REFERENCES users(id),
            chosen_at TEXT NOT NULL,
            seen_by_recorder_at TEXT
        )"""
    )


@migration
def m006_published_versions(db: sqlite_utils.Database) -> None:
    # Each story as its identity level lets it be read, kept so a full rebuild of the published
    # files need not redact every story again. Keyed by everything the result depends on;
    # deleted with the story, so an erased story leaves no copy here either.
    db.execute(
        """CREATE TABLE published_versions (
            story_id INTEGER PRIMARY KEY REFERENCES stories(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            version TEXT NOT NULL
        )"""
    )


@migration
def m009_login_failures(db: sqlite_utils.Database) -> None:
    # Failed logins by address and (hashed) username, for throttling (stories/throttle.py). They
    # replace the per-account lock, which let anyone lock anyone out with five wrong passwords.
    db.execute(
        """CREATE TABLE login_failures (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            address TEXT NOT NULL,
            username_key TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX login_failures_address ON login_failures(address, at)")
    db.execute("ALTER TABLE users DROP COLUMN failed_logins")
    db.execute("ALTER TABLE users DROP COLUMN locked_until")


@migration
def m008_story_uids(db: sqlite_utils.Database) -> None:
    # An id can come round again after a restore; a uid never does. The withdrawal journal and the
    # tombstones name each story by its uid, so a restore re-applies an erasure only to its own story.
    db.execute("ALTER TABLE stories ADD COLUMN uid TEXT")
    db.execute("UPDATE stories SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL")
    db.execute("CREATE UNIQUE INDEX stories_by_uid ON stories(uid)")
    # In the schema rather than in record_story, so no way of adding a story can leave one out.
    db.execute(
        "CREATE TRIGGER stories_get_a_uid AFTER INSERT ON stories WHEN NEW.uid IS NULL"
        " BEGIN UPDATE stories SET uid = lower(hex(randomblob(16))) WHERE id = NEW.id; END"
    )
    db.execute("ALTER TABLE tombstones ADD COLUMN story_uid TEXT")
    # Each journalled withdrawal names its event, so a restore can tell whether the store holds it
    # (timestamps cannot: two events in the same second are not ordered by them).
    db.execute("ALTER TABLE consent_events ADD COLUMN journal_entry TEXT")


@migration
def m008_pending_uploads(db: sqlite_utils.Database) -> None:
    # A recording or consent form is stored the moment it is uploaded, so a form sent back for
    # another field keeps it. Until a story claims it, it is only its uploader's to claim, and the
    # worker deletes it after stories.stored_files.UNCLAIMED_HOURS.
    db.execute(
        """CREATE TABLE pending_uploads (
            id INTEGER PRIMARY KEY,
            folder TEXT NOT NULL CHECK (folder IN ('audio', 'evidence')),
            file TEXT NOT NULL,
            uploaded_by TEXT NOT NULL,
            uploaded_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX pending_uploads_file ON pending_uploads(folder, file)")


@migration
def m008_consent_evidence_recording(db: sqlite_utils.Database) -> None:
    # Verbal consent is a moment in one particular recording: a time means nothing in another one.
    db.execute("ALTER TABLE consent_events ADD COLUMN evidence_recording TEXT")
    # Terms recorded before this knew their recording only implicitly. Name it where the time falls
    # inside the story's recording, so those stories keep publishing; this adds a fact and changes
    # no term, which is why the append-only guard is lifted for this one statement.
    db.execute("DROP TRIGGER consent_events_append_only")
    db.execute(
        "UPDATE consent_events SET evidence_recording = ("
        " SELECT audio_file FROM recordings WHERE consent_events.evidence_time <= duration"
        " AND id = (SELECT max(id) FROM recordings AS latest WHERE latest.story_id = consent_events.story_id))"
        " WHERE method = 'verbal_recording' AND evidence_time >= 0"
    )
    db.execute(
        "CREATE TRIGGER consent_events_append_only BEFORE UPDATE ON consent_events"
        " BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END"
    )


# Sign-off is for the words a reviewer read. Any published text changed after it (title, body or
# transcript, a contribution statement, evidence not cut from the body, a Most Significant Change
# reason) sends the story back for review, however it was changed: a trigger, not each use case.
# The fields are those of stories/identity.py: published_texts; tests walk each one.
_BACK_TO_REVIEW = """
    UPDATE stories SET status = 'submitted', approved_by = NULL, approved_at = NULL
    WHERE id = {story} AND status = 'approved';
    INSERT INTO audit_log (at, actor, action, story_id, detail)
    SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 'system', 'story.back_to_review', {story}, json_object('changed', {field})
    WHERE changes() > 0;
"""
# A confirmed tag publishes its contribution statement, and its evidence where that is not in the body.
_EVIDENCE_APART = "instr((SELECT body FROM stories WHERE id = NEW.story_id), NEW.evidence) = 0"
_TAG_TEXT_ADDED = f"""NEW.status = 'confirmed' AND (NEW.contribution_statement IS NOT NULL
    OR (NEW.evidence IS NOT NULL AND {_EVIDENCE_APART}))"""
_TAG_TEXT_CHANGED = f"""NEW.status = 'confirmed' AND (
    (NEW.contribution_statement IS NOT NULL AND (OLD.status IS NOT 'confirmed'
        OR NEW.contribution_statement IS NOT OLD.contribution_statement))
    OR (NEW.evidence IS NOT NULL AND (OLD.status IS NOT 'confirmed' OR NEW.evidence IS NOT OLD.evidence)
        AND {_EVIDENCE_APART}))"""


@migration
def m007_published_text_changed_needs_review(db: sqlite_utils.Database) -> None:
    db.execute(
        f"""CREATE TRIGGER m007_story_text_changed AFTER UPDATE OF title, body ON stories
        WHEN OLD.status = 'approved' AND (NEW.title IS NOT OLD.title OR NEW.body IS NOT OLD.body)
        BEGIN {_BACK_TO_REVIEW.format(story="NEW.id", field="'title or body'")} END"""
    )
    db.execute(
        f"""CREATE TRIGGER m007_tag_text_changed AFTER UPDATE OF status, contribution_statement, evidence ON outcome_tags
        WHEN {_TAG_TEXT_CHANGED}
        BEGIN {_BACK_TO_REVIEW.format(story="NEW.story_id", field="'outcome'")} END"""
    )
    db.execute(
        f"""CREATE TRIGGER m007_tag_text_added AFTER INSERT ON outcome_tags
        WHEN {_TAG_TEXT_ADDED}
        BEGIN {_BACK_TO_REVIEW.format(story="NEW.story_id", field="'outcome'")} END"""
    )
    for event, columns in (("INSERT", ""), ("UPDATE", " OF reason")):
        db.execute(
            f"""CREATE TRIGGER m007_msc_reason_{event.lower()} AFTER {event}{columns} ON msc_choices
            BEGIN {_BACK_TO_REVIEW.format(story="NEW.story_id", field="'most significant change reason'")} END"""
        )


@migration
def m010_publication_removals(db: sqlite_utils.Database) -> None:
    # Every withdrawal and erasure in the order it was committed (ids only, never content), so a
    # rebuild that read the store before one can take that story out before its files go live.
    # AUTOINCREMENT: a sequence number is never reused, even after the newest row is deleted.
    db.execute(
        """CREATE TABLE publication_removals (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            story_id INTEGER NOT NULL,
            removed_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX publication_removals_story ON publication_removals(story_id)")


@migration
def m010_job_claims(db: sqlite_utils.Database) -> None:
    # Which worker process holds a running job ("host:pid:start"), so a dead one's jobs are sent
    # again at once rather than after minutes of silence; and when a job was cut short, for the page.
    db.execute("ALTER TABLE jobs ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE jobs ADD COLUMN interrupted_at TEXT")


@migration
def m014_journal_marks(db: sqlite_utils.Database) -> None:
    # Which journalled changes (stories/journal.py) this store holds: written in the same
    # transaction as each change, so a restored backup tells exactly which entries it lacks.
    # A name decision is overwritten by the next one; its mark stays. No content, only tokens.
    db.execute(
        """CREATE TABLE journal_marks (
            entry TEXT PRIMARY KEY,
            story_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            at TEXT NOT NULL
        )"""
    )
    if "journal_entry" in db["consent_events"].columns_dict:  # journalled withdrawals from before this
        db.execute(
            "INSERT OR IGNORE INTO journal_marks (entry, story_id, kind, at)"
            " SELECT journal_entry, story_id, kind, recorded_at FROM consent_events WHERE journal_entry IS NOT NULL"
        )


# Text typed in a browser was stored with the CRLF line breaks the browser sends, while the page
# (and so every selection made on it) has LF: stored offsets and the page disagreed. Every stored
# text is cleaned as stories.text.clean now cleans what enters, and every span pointing into a
# story's body or published text moves with it. The words a reviewer read are the same words, so
# the m007 triggers (back to review on a changed text) are lifted for this migration only.
# Consent history stays as it was given: it is append-only, and nothing points into it.
_CLEANED_COLUMNS = {
    "outcome_tags": ("evidence", "contribution_statement"),
    "msc_rounds": ("title", "panel"),
    "msc_choices": ("reason",),
    "verifications": ("note",),
    "interventions": ("name", "description"),
    "name_decisions": ("placeholder",),
    "case_studies": ("title", "context"),
}


@migration
def m011_clean_stored_text(db: sqlite_utils.Database) -> None:
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'm007%'").fetchall()
    for name, _ in triggers:
        db.execute(f'DROP TRIGGER "{name}"')  # names read from the schema itself
    moved = _clean_story_texts(db)
    for table, columns in _CLEANED_COLUMNS.items():
        key = "rowid"  # every one of these tables has one, whatever its primary key
        for row in db.execute(f"SELECT {key}, {', '.join(columns)} FROM {table}").fetchall():
            cleaned = [clean(value) if isinstance(value, str) else value for value in row[1:]]
            if cleaned != list(row[1:]):
                assignments = ", ".join(f"{column} = ?" for column in columns)
                db.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", [*cleaned, row[0]])
    _clean_case_study_quotes(db, moved)
    for _, sql in triggers:
        db.execute(sql)


def _clean_story_texts(db: sqlite_utils.Database) -> set[int]:
    """Clean each story's title, body and reviewed transcript, moving its tags' offsets; returns the stories moved."""
    moved = set()
    for (story_id,) in db.execute("SELECT id FROM stories").fetchall():  # one at a time: 100,000 bodies fill memory
        title, body = db.execute("SELECT title, body FROM stories WHERE id = ?", [story_id]).fetchone()
        cleaned = clean_with_offsets(body)
        if cleaned.text == body and clean(title) == title:
            continue
        moved.add(story_id)
        db.execute("UPDATE stories SET title = ?, body = ? WHERE id = ?", [clean(title), cleaned.text, story_id])
        # A tag someone added on the story page holds the page's offsets (UTF-16, counted on the text as
        # shown), and so the wrong words: it gets the words they selected. Others hold Python's offsets.
        selected_on_page = {
            row[0]
            for row in db.execute(
                "SELECT json_extract(detail, '$.tag_id') FROM audit_log WHERE story_id = ? AND action = 'story.tag_added'",
                [story_id],
            )
        }
        for tag_id, start, end in db.execute(
            'SELECT id, start, "end" FROM outcome_tags WHERE story_id = ? AND start IS NOT NULL AND "end" IS NOT NULL',
            [story_id],
        ).fetchall():
            selected = selected_span(cleaned.text, *cleaned.span_from_page(start, end), "")
            if tag_id in selected_on_page and selected:
                db.execute(
                    'UPDATE outcome_tags SET start = ?, "end" = ?, evidence = ? WHERE id = ?',
                    [*selected, cleaned.text[slice(*selected)], tag_id],
                )
            else:
                db.execute('UPDATE outcome_tags SET start = ?, "end" = ? WHERE id = ?', [*cleaned.span(start, end), tag_id])
    for transcript_id, segments in db.execute("SELECT id, segments FROM transcripts").fetchall():
        parts = json.loads(segments)
        tidy = [{**part, "text": clean(str(part["text"]))} for part in parts]
        if tidy != parts:
            db.execute("UPDATE transcripts SET segments = ? WHERE id = ?", [json.dumps(tidy), transcript_id])
    return moved


def _clean_case_study_quotes(db: sqlite_utils.Database, moved: set[int]) -> None:
    """Pull quotes are offsets into the published text: moved as that text moves, located by the stored version."""
    for case_study_id, story_id, quotes in db.execute("SELECT id, story_id, quotes FROM case_studies").fetchall():
        if story_id not in moved:
            continue
        stored = db.execute("SELECT version FROM published_versions WHERE story_id = ?", [story_id]).fetchone()
        published = json.loads(stored[0])["body"] if stored else None
        cleaned = clean_with_offsets(published) if published is not None else None
        kept = []
        for quote in json.loads(quotes):
            start, end = quote["start"], quote["end"]
            if cleaned is not None and published[start:end] == quote["text"]:
                start, end = cleaned.span(start, end)
            # Otherwise the offsets are only a hint: a case study finds its quotes again by their words.
            kept.append({"start": start, "end": end, "text": clean(quote["text"])})
        db.execute("UPDATE case_studies SET quotes = ? WHERE id = ?", [json.dumps(kept), case_study_id])


@migration
def m015e_form_fingerprints(db: sqlite_utils.Database) -> None:
    """What each stored signed form shows, so the same document is known in other bytes (stories/evidence.py).

    Its forms on file are fingerprinted by m017e_form_fingerprint_sets, which fingerprints them as they are read now.
    """
    db.execute("CREATE TABLE form_fingerprints (file TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)")


@migration
def m017e_form_fingerprint_sets(db: sqlite_utils.Database) -> None:
    """A form has several fingerprints (its PDF's drawing, each page's picture; a picture however turned or compressed
    into a PDF), so every form on file is fingerprinted again the way stories/evidence.py reads it now."""
    from stories.evidence import form_fingerprints  # PIL and pypdf: only when this migration runs
    from stories.stored_files import note_form

    db.execute("DROP TABLE IF EXISTS form_fingerprints")
    db.execute("CREATE TABLE form_fingerprints (file TEXT NOT NULL, fingerprint TEXT NOT NULL, PRIMARY KEY (file, fingerprint))")
    db.execute("CREATE INDEX form_fingerprints_by_fingerprint ON form_fingerprints (fingerprint)")
    store = db.execute("PRAGMA database_list").fetchone()[2]
    if not store:  # an in-memory store has no evidence folder
        return
    folder = Path(store).parent / "evidence"
    names = "SELECT evidence_file FROM consent_events WHERE evidence_file IS NOT NULL"
    if "pending_uploads" in db.table_names():  # absent only where a test leaves earlier migrations out
        names += " UNION SELECT file FROM pending_uploads WHERE folder = 'evidence'"
    for (name,) in db.execute(names).fetchall():
        path = folder / name
        if path.is_file():  # a form lost from the folder is evidence of nothing: publishable refuses it anyway
            note_form(db, name, form_fingerprints(path.read_bytes()))


# Vertical tab, form feed, NEL and U+2028/2029 are now stored as the LF they are (stories.text.clean):
# Word, PDF tools and phones write them, and a browser drew them as a box or as nothing ("Ho\u2028lt"
# showed "Holt"), so text stored before holds them. One character becomes one, so no offset moves;
# as in m011, the words a reviewer read are the same, so the m007 triggers are lifted for this alone.
_BREAK_CHARACTERS = ("\v", "\f", "\x85", "\u2028", "\u2029")


def _holds_break(value: object) -> bool:
    return isinstance(value, str) and any(char in value for char in _BREAK_CHARACTERS)


@migration
def m016_names4_line_breaks_as_lf(db: sqlite_utils.Database) -> None:
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'm007%'").fetchall()
    for name, _ in triggers:
        db.execute(f'DROP TRIGGER "{name}"')  # names read from the schema itself
    for (story_id,) in db.execute("SELECT id FROM stories").fetchall():  # one at a time: 100,000 bodies fill memory
        title, body = db.execute("SELECT title, body FROM stories WHERE id = ?", [story_id]).fetchone()
        if _holds_break(title) or _holds_break(body):
            db.execute("UPDATE stories SET title = ?, body = ? WHERE id = ?", [clean(title), clean(body), story_id])
    for transcript_id, segments in db.execute("SELECT id, segments FROM transcripts").fetchall():
        parts = json.loads(segments)
        if any(_holds_break(part["text"]) for part in parts):
            tidy = [{**part, "text": clean(str(part["text"]))} for part in parts]
            db.execute("UPDATE transcripts SET segments = ? WHERE id = ?", [json.dumps(tidy), transcript_id])
    for case_study_id, quotes in db.execute("SELECT id, quotes FROM case_studies").fetchall():
        kept = json.loads(quotes)
        if any(_holds_break(quote["text"]) for quote in kept):
            kept = [{**quote, "text": clean(quote["text"])} for quote in kept]
            db.execute("UPDATE case_studies SET quotes = ? WHERE id = ?", [json.dumps(kept), case_study_id])
    for table, columns in _CLEANED_COLUMNS.items():
        for row in db.execute(f"SELECT rowid, {', '.join(columns)} FROM {table}").fetchall():
            if any(_holds_break(value) for value in row[1:]):
                cleaned = [clean(value) if isinstance(value, str) else value for value in row[1:]]
                assignments = ", ".join(f"{column} = ?" for column in columns)
                db.execute(f"UPDATE {table} SET {assignments} WHERE rowid = ?", [*cleaned, row[0]])
    for _, sql in triggers:
        db.execute(sql)


@migration
def m016s_stated_outcomes(db: sqlite_utils.Database) -> None:
    """What people stated changed when a story was recorded (who said so: the storyteller, or the worker who judged),
    and the tagger's proposed words for each; both go with the story when it is erased."""
    # One statement at a time, as in m001: executescript() would commit mid-migration.
    statements = """
        CREATE TABLE outcome_statements (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            framework TEXT NOT NULL,
            domain TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('improved', 'worsened', 'mixed', 'mentioned')),
            said_by TEXT NOT NULL CHECK (said_by IN ('storyteller', 'worker')),
            recorded_by INTEGER REFERENCES users(id),
            recorded_at TEXT NOT NULL,
            UNIQUE (story_id, framework, domain)
        );
        CREATE TABLE evidence_proposals (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            framework TEXT NOT NULL,
            domain TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            evidence TEXT NOT NULL,
            audio_start REAL,
            audio_end REAL,
            reads_as TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX evidence_proposals_story ON evidence_proposals(story_id)
    """
    for statement in statements.split(";\n"):
        db.execute(statement)


@migration
def m019c_commitments(db: sqlite_utils.Database) -> None:
    """What each intervention (and so its contract) promised to change, in its own words (stories/commitments.py)."""
    db.execute(
        """CREATE TABLE commitments (
            id INTEGER PRIMARY KEY,
            intervention_id INTEGER NOT NULL REFERENCES interventions(id),
            outcome TEXT NOT NULL,
            domains TEXT NOT NULL,
            contribution TEXT NOT NULL CHECK (contribution IN ('inherent', 'additional')),
            period_from TEXT,
            period_to TEXT,
            for_whom TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'entered',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX commitments_intervention ON commitments(intervention_id)")


# The tagger offers a direction only where it is measured to be right (stories/direction.py, TRUSTED_PRECISION);
# elsewhere the story page asks "What changed?", so a suggestion may have no direction until a person decides,
# and a confirmed tag always has one. The measured share right travels with an offered direction
# (direction_confidence), apart from the domain's confidence. SQLite cannot relax NOT NULL in place: the table is
# rebuilt from its own CREATE statement (so columns other migrations added are kept), its indexes and every
# trigger naming it put back as they were.
@migration
def m018_direction16_direction_asked(db: sqlite_utils.Database) -> None:
    (table_sql,) = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outcome_tags'").fetchone()
    required = "direction TEXT NOT NULL CHECK"
    if required not in table_sql:
        raise RuntimeError("outcome_tags.direction is not as m001 made it: rebuild it by hand")
    asked = table_sql.replace(required, "direction TEXT CHECK (direction IS NOT NULL OR status != 'confirmed') CHECK", 1)
    kept = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN ('index', 'trigger')"
        " AND (tbl_name = 'outcome_tags' OR sql LIKE '%outcome_tags%')"
    ).fetchall()
    for name, _ in kept:
        kind = db.execute("SELECT type FROM sqlite_master WHERE name = ?", [name]).fetchone()[0]
        db.execute(f'DROP {kind.upper()} "{name}"')  # names read from the schema itself
    columns = ", ".join(f'"{row[1]}"' for row in db.execute("PRAGMA table_info(outcome_tags)").fetchall())
    db.execute(asked.replace("CREATE TABLE outcome_tags", "CREATE TABLE outcome_tags_asked", 1))
    db.execute(f"INSERT INTO outcome_tags_asked ({columns}) SELECT {columns} FROM outcome_tags")
    db.execute("DROP TABLE outcome_tags")
    db.execute("ALTER TABLE outcome_tags_asked RENAME TO outcome_tags")
    db.execute("ALTER TABLE outcome_tags ADD COLUMN direction_confidence REAL")
    for _, sql in kept:
        db.execute(sql)


@migration
def m017s_storyteller_links(db: sqlite_utils.Database) -> None:
    """The storyteller's own key to their story (issue 17): a link and a short code, kept only as hashes.

    One live link per story (re-issuing revokes the old one); attempts are kept a while for rate limits;
    what a storyteller changed is a notice to the worker until they have seen it."""
    db.execute(
        """CREATE TABLE storyteller_links (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            code_hash TEXT NOT NULL UNIQUE,
            addressed_to TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            issued_by TEXT NOT NULL,
            revoked_at TEXT
        )"""
    )
    db.execute("CREATE UNIQUE INDEX storyteller_links_one_live ON storyteller_links(story_id) WHERE revoked_at IS NULL")
    db.execute(
        "CREATE TABLE storyteller_link_attempts (at TEXT NOT NULL, address TEXT NOT NULL, kind TEXT NOT NULL, link_id INTEGER)"
    )
    db.execute("CREATE INDEX storyteller_link_attempts_at ON storyteller_link_attempts(at)")
    db.execute(
        """CREATE TABLE storyteller_notices (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            action TEXT NOT NULL,
            at TEXT NOT NULL,
            seen_at TEXT
        )"""
    )


@migration
def m018p_stories_listed_by_organisation_newest_first(db: sqlite_utils.Database) -> None:
    # The app's story list (records.list_stories): an organisation's stories newest told first, a page
    # at a time. Without it SQLite sorts every story of the organisation for each page: 25 ms at 10,000
    # stories, 0.7 ms with it (issue 18).
    db.execute("CREATE INDEX IF NOT EXISTS stories_by_organisation_told_on ON stories (organisation_id, told_on DESC, id DESC)")


@migration
def m023a_name_reviews(db: sqlite_utils.Database) -> None:
    # The story page's list of names for a reviewer to decide on (stories/name_reviews.py), kept so
    # each view need not run the identity rules again: half the page's time at 100,000 stories
    # (issue 18). Keyed like published_versions, by everything the list depends on; deleted with the
    # story, so an erased story leaves no copy here either.
    db.execute(
        """CREATE TABLE name_reviews (
            story_id INTEGER PRIMARY KEY REFERENCES stories(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            review TEXT NOT NULL
        )"""
    )


@migration
def m023r_published_versions_keep_search_families(db: sqlite_utils.Database) -> None:
    # Each stored version's search word families (stories/search.py), so a full rebuild need not stem
    # every story again (18 s at 100,000 stories, issue 18). Marked with the stemming rules they were
    # made by: a version stored anew clears them, and a rebuild reuses them only under today's mark.
    db.execute("ALTER TABLE published_versions ADD COLUMN families TEXT")
    db.execute("ALTER TABLE published_versions ADD COLUMN families_mark TEXT")
