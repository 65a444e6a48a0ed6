"""Consent over time, as a Hypothesis state machine: published files hold exactly what consent allows.

The machine records stories, changes their consent, signs them off, decides names, edits a
published text after sign-off, withdraws, erases, takes and restores backups, lets days pass,
publishes, and kills a withdrawal or a rebuild with SIGKILL at a chosen point (then starts again,
as `storybank serve` does), in random order. Its own small model (written out here, never by
calling `publishable`) says which stories each published file may hold; after every step the files
must hold exactly those, no withdrawn, expired or erased story's words may be in their bytes, no
storyteller name may survive a hidden identity (contribution statements included), and the audit
log only grows.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from audio import tone
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

import stories.clock
from conftest import add_tag, story_form
from pipelines import publish as publisher
from pipelines.jobs import queue_for
from pipelines.publish import run_publish
from pipelines.withdraw import catch_up_withdrawals
from stories.assurance import link_outcome
from stories.backup import backup, restore
from stories.demo import stand_in_form
from stories.evidence import keep_form
from stories.instance import Instance, init_instance
from stories.notrace import find_traces
from stories.organisations import ensure_organisation
from stories.recordings import Recording, correct_transcript, recording_for, save_transcript
from stories.records import approve_story, change_consent, decide_name, record_story
from stories.services.consent import withdraw_story
from stories.sqlite import sqlite3
from stories.stored_files import AUDIO, register_upload
from stories.validation import Invalid

PUBLISHED = ("commissioners", "public")
IDENTITY_LEVELS = ("named", "first_name", "pseudonym", "anonymous")  # most revealing first
HIDDEN = ("pseudonym", "anonymous")
START = dt.date(2030, 1, 15)

# (full name, nickname): each story's storyteller, mentioned by both in the body.
STORYTELLERS = (
    ("Margaret Holt", "Maggie"),
    ("Declan Murphy", "Dec"),
    ("Siobhan Kelly", "Shiv"),
    ("Tomasz Nowak", "Tom"),
    ("Aisha Khan", "Ash"),
)
BODY = (
    "My name is {full}. Everyone calls me {alias}. After my husband died I did not speak to anyone for weeks. "
    "Now Priya rings every Tuesday and I go to the lunch club. I feel like myself again, {word} and all."
)

likely = st.sampled_from([True, True, False])

# Where a process is killed: (what it was doing, the publisher's step, killed before or after that step runs).
CRASHES = {
    "withdrawal, before any file": ("withdraw", "remove_from_published", "before"),
    # Killed inside a file's transaction: the rows deleted, the old pages in the journal, nothing committed.
    "withdrawal, a file's change not committed": ("withdraw", "remove_stories", "after"),
    "withdrawal, one file changed": ("withdraw", "_change_in_place", "after"),
    "rebuild, its file built, not swapped": ("publish", "_swap", "before"),
    "rebuild, one file swapped": ("publish", "_swap", "after"),
}

# Weighted towards terms that allow publication, so files often hold stories worth checking.
terms_strategy = st.fixed_dictionaries(
    {
        "audiences": st.sets(st.sampled_from(["commissioners", "commissioners", "board", "public", "public"])),
        "identity_level": st.sampled_from(IDENTITY_LEVELS),
        "special_category": st.sampled_from([True, True, True, False]),
        "evidence": st.sampled_from(["time", "file", "time", "file", "none"]),
        "given_days_ago": st.integers(0, 20),
        "review_in_days": st.one_of(st.integers(1, 30), st.integers(31, 365)),
    }
)


@dataclasses.dataclass
class Terms:
    audiences: frozenset[str]
    identity_level: str
    special_category: bool
    has_evidence: bool
    given_on: dt.date
    review_on: dt.date


@dataclasses.dataclass
class ModelStory:
    """What the model knows about one story: enough to say, by hand, where it may be published."""

    word: str  # made up, in this story's body only
    full_name: str
    alias: str
    terms: Terms
    signed_off: bool = False
    name_decided: bool = False
    withdrawn: bool = False
    erased: bool = False
    recorded: bool = False  # told aloud: verbal consent can point into its recording
    withdrawals: int = 0  # withdrawals that took effect (each one journalled)
    narrowings: list[Terms] = dataclasses.field(default_factory=list)  # consent changes that showed less (journalled)
    name_decisions: int = 0  # name decisions made (each journalled, without the name)
    lost: bool = False  # not in the backup restored last: gone like an erased story, but a later backup may hold it


def reveals_more(old: Terms, new: Terms) -> bool:
    return (
        bool(new.audiences - old.audiences)
        or IDENTITY_LEVELS.index(new.identity_level) < IDENTITY_LEVELS.index(old.identity_level)
        or (new.special_category and not old.special_category)
    )


def shows_less(old: Terms, new: Terms) -> bool:
    return (
        bool(old.audiences - new.audiences)
        or IDENTITY_LEVELS.index(new.identity_level) > IDENTITY_LEVELS.index(old.identity_level)
        or (old.special_category and not new.special_category)
        or new.review_on < old.review_on
    )


def narrowed(terms: Terms, by: Terms) -> Terms:
    """What a restore makes of terms narrowed since its backup: no more shown than either allows."""
    hidden = max(IDENTITY_LEVELS.index(terms.identity_level), IDENTITY_LEVELS.index(by.identity_level))
    return dataclasses.replace(
        terms,
        audiences=terms.audiences & by.audiences,
        identity_level=IDENTITY_LEVELS[hidden],
        special_category=terms.special_category and by.special_category,
        review_on=min(terms.review_on, by.review_on),
    )


def may_publish(story: ModelStory, audience: str, today: dt.date) -> bool:
    """The rule, written out: what a published file may hold today."""
    t = story.terms
    return (
        not story.erased
        and not story.withdrawn
        and story.signed_off
        and t.given_on <= today <= t.review_on
        and audience in t.audiences
        and t.special_category
        and t.has_evidence
        and story.name_decided  # at every identity level (issue 12)
    )


def published_rows(path: Path) -> list[dict]:
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute("SELECT id, title, body, storyteller FROM stories ORDER BY id")]
    finally:
        conn.close()


def has_word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) is not None


class ConsentMachine(RuleBasedStateMachine):
    stories = Bundle("stories")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="storybank-prop-", dir=_fast_tmp()))
        self.today = START
        # One clock for everything (audit times, withdrawal dates, the publish run inside a withdrawal).
        self.patches = [
            mock.patch.object(stories.clock, "now", lambda: dt.datetime.combine(self.today, dt.time(12), dt.UTC)),
            mock.patch.dict("os.environ", {"STORYBANK_JOBS_IMMEDIATE": "1"}),
        ]
        for patch in self.patches:
            patch.start()
        self.instance = Instance(self.tmp / "instance")
        self.db = init_instance(self.instance)
        self.org = ensure_organisation(self.db, "Befriending Network", kind="charity", area="Leeds")
        self.in_hypothesis = currently_in_test_context()
        self.model: dict[int, ModelStory] = {}
        self.counter = 0
        self.expected: dict[str, set[int]] = {}
        # Per file, the identity level of each story when that file was last rebuilt.
        self.published_levels: dict[str, dict[int, str]] = {audience: {} for audience in PUBLISHED}
        self.audit_seen: list[tuple] = []
        self.backups: list[TakenBackup] = []
        self.publish()

    def teardown(self) -> None:
        try:
            self.db.close()
        finally:
            for patch in reversed(self.patches):
                patch.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- helpers -------------------------------------------------------------------------------

    def form_terms(self, raw: dict, word: str | None) -> tuple[dict, Terms]:
        """Form fields for these consent terms, and the model's view of them.

        An evidence file is written as the app would before saving the terms; it carries the
        story's word (so erasure must remove it) unless `word` is None.
        """
        given_on = self.today - dt.timedelta(days=raw["given_days_ago"])
        review_on = self.today + dt.timedelta(days=raw["review_in_days"])
        consent_fields = ("given_by", "age_band", "witness", "info_sheet_version")
        fields = {
            **{key: value for key, value in story_form().items() if key in consent_fields},
            "audiences": ["team", *sorted(raw["audiences"])],
            "identity_level": raw["identity_level"],
            "special_category": "yes" if raw["special_category"] else "no",
            "given_on": given_on.isoformat(),
            "review_on": review_on.isoformat(),
            "method": "written",
            "evidence_time": "",
            "evidence_file": "",
        }
        if raw["evidence"] == "time":
            fields.update(method="verbal_recording", evidence_time="0:42")
        elif raw["evidence"] == "file":
            self.counter += 1
            # A signed form that names the story's word (erasure must take it away too), stored as the app stores it.
            pdf = stand_in_form(f"signed consent form {self.counter} for the story about {word or 'nothing'}")
            fields["evidence_file"] = keep_form(self.db, self.instance.evidence_dir, pdf, "test")
        terms = Terms(
            audiences=frozenset({"team", *raw["audiences"]}),
            identity_level=raw["identity_level"],
            special_category=raw["special_category"],
            has_evidence=raw["evidence"] != "none",
            given_on=given_on,
            review_on=review_on,
        )
        return fields, terms

    def upload_recording(self) -> Recording:
        """A minute of sound uploaded as the app stores it: by content, waiting for a story to claim it."""
        self.counter += 1
        # Each story's own recording: the last sample differs, so the content (and the stored name) does.
        data = minute_of_sound()[:-2] + (self.counter % 30000).to_bytes(2, "little")
        name = f"{hashlib.sha256(data).hexdigest()}.wav"
        self.instance.audio_dir.mkdir(exist_ok=True)
        (self.instance.audio_dir / name).write_bytes(data)
        register_upload(self.db, AUDIO, name, "test")
        return Recording(audio_file=name, duration=60.0, codec="pcm_s16le")

    def review_transcript(self, story_id: int, text: str) -> None:
        """The recording transcribed as the story's words and marked reviewed by a person."""
        recording = recording_for(self.db, story_id)["id"]
        segments = [{"start": 0, "end": 60, "text": text}]
        save_transcript(self.db, story_id, recording, segments=segments, language="en", model="test")
        correct_transcript(self.db, story_id, [text], actor="test", reviewed=True)

    def note_event(self, text: str) -> None:
        if self.in_hypothesis:
            event(text)

    def published_now(self) -> None:
        """Every published file was just rebuilt: remember what the model says each holds."""
        before = set().union(*self.expected.values()) if self.expected else set()
        for audience in PUBLISHED:
            self.rebuilt(audience)
        for audience, ids in self.expected.items():
            if ids:
                self.note_event(f"{audience} file held stories")
            if any(self.model[sid].terms.identity_level in HIDDEN for sid in ids):
                self.note_event(f"{audience} file held a story under a hidden identity")
        if any(self.model[sid].terms.review_on < self.today for sid in before):
            self.note_event("a published story's review date passed")

    def rebuilt(self, audience: str) -> None:
        """One file was just rebuilt from the store: it holds what the model allows today."""
        self.expected[audience] = {sid for sid, s in self.model.items() if may_publish(s, audience, self.today)}
        self.published_levels[audience] = {sid: s.terms.identity_level for sid, s in self.model.items()}

    def publish(self) -> None:
        counts = run_publish(self.instance, today=self.today, actor="test")
        self.published_now()
        assert counts == {a: len(ids) for a, ids in self.expected.items()}

    def withdraw(self, story_id: int, *, erase: bool) -> None:
        story = self.model[story_id]
        if any(story_id in ids for ids in self.expected.values()):
            self.note_event(f"{'erased' if erase else 'withdrew'} a published story")
        if story.erased:
            with pytest.raises(Invalid):
                withdraw_story(self.instance, story_id, actor="test", reason="asked by phone", erase_story=erase)
            return
        withdraw_story(self.instance, story_id, actor="test", reason="asked by phone", erase_story=erase)
        if erase:
            story.erased = True
        else:
            story.withdrawals += int(not story.withdrawn)
            story.withdrawn = True
        self.published_now()  # withdrawal republishes at once

    # --- rules ---------------------------------------------------------------------------------

    # Most rules may republish straight after, as the app does after the same action.

    @rule(
        target=stories,
        raw=terms_strategy,
        who=st.sampled_from(STORYTELLERS),
        decide_now=likely,
        sign_off_now=likely,
        then_publish=likely,
    )
    def record(self, raw, who, decide_now=False, sign_off_now=False, then_publish=False):
        self.counter += 1
        word = f"zorblatt{self.counter}q"
        fields, terms = self.form_terms(raw, word)
        full, alias = who
        form = story_form(
            body=BODY.format(full=full, alias=alias, word=word),
            storyteller_names=f"{full}; {alias}",
            storyteller_reference=f"REF-{self.counter}",
            told_on=terms.given_on.isoformat(),
            **fields,
        )
        recorded = raw["evidence"] == "time"  # verbal consent is a moment in the story's recording
        recording = self.upload_recording() if recorded else None
        story_id = record_story(self.db, form, organisation_id=self.org, actor="test", today=self.today, recording=recording)
        assert story_id not in self.model  # an erased story's id is never reused
        if recorded:
            self.review_transcript(story_id, form["body"])
        self.model[story_id] = ModelStory(word=word, full_name=full, alias=alias, terms=terms, recorded=recorded)
        if decide_now:
            self.decide(story_id, "redact")
        if sign_off_now:
            self.sign_off(story_id)
        if then_publish:
            self.publish()
        return story_id

    @rule(story_id=stories, kind=st.sampled_from(["given", "amended", "renewed"]), raw=terms_strategy, then_publish=st.booleans())
    def change(self, story_id, kind, raw, then_publish=False):
        story = self.model[story_id]
        no_recording = raw["evidence"] == "time" and not story.recorded  # a moment in no recording is no evidence
        refused = story.erased or (kind != "given" and story.withdrawn) or no_recording
        fields, terms = self.form_terms(raw, None if refused else story.word)
        if refused:
            with pytest.raises(Invalid):
                change_consent(self.db, story_id, kind, fields, actor="test", today=self.today)
            return
        change_consent(self.db, story_id, kind, fields, actor="test", today=self.today)
        if not story.withdrawn and shows_less(story.terms, terms):
            story.narrowings.append(terms)  # journalled: a restore must not widen it again
        if story.withdrawn or reveals_more(story.terms, terms):
            if story.signed_off:
                self.note_event("consent change sent a signed-off story back for review")
            story.signed_off = False  # the sign-off was for the old, narrower terms
        story.withdrawn = False
        story.terms = terms
        if then_publish:
            self.publish()

    @rule(story_id=stories, keep=st.sets(st.sampled_from(["commissioners", "board", "public"])), hide=st.integers(0, 3))
    def narrow(self, story_id, keep, hide):
        """Consent narrowed as a storyteller asks most often: fewer audiences, a more hidden identity, an earlier review."""
        terms = self.model[story_id].terms
        level = IDENTITY_LEVELS[min(3, IDENTITY_LEVELS.index(terms.identity_level) + hide)]
        raw = {
            "audiences": (terms.audiences - {"team"}) & keep,
            "identity_level": level,
            "special_category": terms.special_category,
            "evidence": "time" if self.model[story_id].recorded else "file",
            "given_days_ago": max(0, (self.today - terms.given_on).days),
            "review_in_days": max(1, min(30, (terms.review_on - self.today).days)),
        }
        self.change(story_id, "amended", raw, then_publish=True)

    @rule(story_id=stories, then_publish=st.booleans())
    def sign_off(self, story_id, then_publish=False):
        story = self.model[story_id]
        if story.erased:
            with pytest.raises(Invalid):
                approve_story(self.db, story_id, actor="test", user_id=None)
            return
        approve_story(self.db, story_id, actor="test", user_id=None)
        story.signed_off = True
        if then_publish:
            self.publish()

    @rule(story_id=stories, decision=st.sampled_from(["keep", "redact"]), then_publish=st.booleans())
    def decide(self, story_id, decision, then_publish=False):
        story = self.model[story_id]
        if story.erased:
            # No story is left to decide on (this surfaces as a foreign-key error, not Invalid).
            with pytest.raises((Invalid, sqlite3.IntegrityError)):
                decide_name(self.db, story_id, "Priya", decision, placeholder="befriender", actor="test")
            return
        decide_name(self.db, story_id, "Priya", decision, placeholder="befriender", actor="test")
        story.name_decided = True
        story.name_decisions += 1
        if then_publish:
            self.publish()

    @rule(story_id=stories, field=st.sampled_from(["title", "body", "contribution statement"]), then_publish=st.booleans())
    def edit_published_text_after_sign_off(self, story_id, field, then_publish=False):
        """A published text changes: whatever the path, the story goes back for review until signed off again."""
        story = self.model[story_id]
        if story.erased:
            return
        if field == "contribution statement":
            # In the storyteller's words, naming them: the identity level must hide that too.
            tag_id = add_tag(self.db, story_id, "relationships")
            statement = f"{story.alias} says the Tuesday calls made the difference"
            link_outcome(self.db, story_id, tag_id, {"contribution_statement": statement}, actor="test", intervention_ids=[])
        elif field == "title":
            self.db.execute("UPDATE stories SET title = title || ' (corrected)' WHERE id = ?", [story_id])
        else:
            self.db.execute("UPDATE stories SET body = body || ' It got better again.' WHERE id = ?", [story_id])
        if story.signed_off:
            self.note_event(f"a {field} changed after sign-off")
        story.signed_off = False
        if then_publish:
            self.publish()

    @invariant()
    def contribution_statements_hide_the_storyteller(self):
        for audience in PUBLISHED:
            with sqlite3.connect(f"file:{self.instance.published_path(audience)}?immutable=1", uri=True) as conn:
                rows = conn.execute("SELECT story_id, contribution_statement FROM story_outcomes").fetchall()
            for story_id, statement in rows:
                if statement and self.published_levels[audience].get(story_id) in HIDDEN:
                    assert not has_word(statement, self.model[story_id].alias), (audience, statement)

    @rule(story_id=stories)
    def withdraw_story(self, story_id):
        self.withdraw(story_id, erase=False)

    @rule(story_id=stories)
    def erase_story(self, story_id):
        self.withdraw(story_id, erase=True)
        # Once the call returns, the story's word is in no file of the instance, working store included.
        assert find_traces(self.instance.root, [self.model[story_id].word]) == []

    @rule(story_id=stories, crash=st.sampled_from(sorted(CRASHES)), erase=st.booleans())
    def crash(self, story_id, crash, erase=False):
        """kill -9 in the middle of a withdrawal (or of a rebuild), then start again as `serve` and the worker do."""
        doing, step, when = CRASHES[crash]
        story = self.model[story_id]
        if doing == "withdraw":
            killed = self.killed_at(step, when, lambda: self.withdraw_in_child(story_id, erase))
            if not story.erased:  # the store says so before any file is touched, so the kill came after that
                story.withdrawals += int(not erase and not story.withdrawn)
                story.erased = erase
                story.withdrawn = not erase
        else:
            files = {audience: self.file_identity(audience) for audience in PUBLISHED}
            killed = self.killed_at(step, when, lambda: run_publish(self.instance, today=self.today, actor="test"))
            for audience in PUBLISHED:  # both files are built at once: whichever was swapped first is new, the other old
                if self.file_identity(audience) != files[audience]:
                    self.rebuilt(audience)
        self.note_event(f"{'killed' if killed else 'not reached'}: {crash}")
        self.killed_at_last_crash = killed
        # Starting again: the worker (and serve, before serving) finish what the crash cut short.
        catch_up_withdrawals(self.instance)
        if doing == "withdraw":
            for audience in PUBLISHED:
                self.expected[audience].discard(story_id)

    def file_identity(self, audience: str) -> int | None:
        path = self.instance.published_path(audience)
        return path.stat().st_ino if path.exists() else None

    def withdraw_in_child(self, story_id: int, erase: bool) -> None:
        # The rebuild a withdrawal asks for waits in the queue (no worker here), as in production.
        os.environ["STORYBANK_JOBS_IMMEDIATE"] = "0"
        queue_for.cache_clear()
        try:
            withdraw_story(self.instance, story_id, actor="test", reason="asked by phone", erase_story=erase)
        except Invalid:
            pass  # erased already

    def killed_at(self, step: str, when: str, action) -> bool:  # noqa: ANN001
        """Run `action` in a forked child that kills itself with SIGKILL at the publisher's `step`; was it killed?"""
        pid = os.fork()
        if pid == 0:  # the child: never returns into the test
            try:
                real = getattr(publisher, step)

                def die(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                    if when == "after":
                        real(*args, **kwargs)
                    os.kill(os.getpid(), signal.SIGKILL)

                setattr(publisher, step, die)
                action()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    @rule(days=st.integers(1, 90), then_publish=st.booleans())
    def pass_days(self, days, then_publish=False):
        self.today += dt.timedelta(days=days)
        if then_publish:
            self.publish()  # the periodic job that drops lapsed consent

    @rule()
    def publish_now(self):
        self.publish()

    # --- backup and restore --------------------------------------------------------------------

    @rule()
    def take_backup(self):
        folder = backup(self.instance, self.tmp / f"backups-{len(self.backups)}")
        audit = [tuple(r) for r in self.db.execute("SELECT * FROM audit_log ORDER BY id").fetchall()]
        self.backups.append(TakenBackup(folder, copy.deepcopy(self.model), audit))

    @precondition(lambda self: self.backups)
    @rule(which=st.integers(0, 5))
    def restore_backup(self, which):
        """`storybank restore`: the store goes back; withdrawals, erasures, narrowed consent and name decisions
        made since are re-applied (a story whose names were decided since goes back for review); it republishes."""
        taken = self.backups[which % len(self.backups)]
        kept = [(s, taken.model[i]) for i, s in self.model.items() if i in taken.model and not s.erased]
        if any(s.withdrawals > then.withdrawals for s, then in kept):
            self.note_event("restored a backup older than a withdrawal")
        if any(len(s.narrowings) > len(then.narrowings) for s, then in kept):
            self.note_event("restored a backup older than narrowed consent")
        if any(s.name_decisions > then.name_decisions and then.signed_off for s, then in kept):
            self.note_event("restored a backup older than a name decision on a signed-off story")
        if set(self.model) - set(taken.model):
            self.note_event("restored a backup older than a story")
        self.db.close()
        restore(self.instance, taken.folder)
        self.db = self.instance.open()
        for story_id, story in self.model.items():
            then = taken.model.get(story_id)
            if story.erased and not story.lost:
                continue  # erased, and the journal erases it again
            if then is None:
                story.erased = story.lost = True  # told after the backup: lost with it, and nothing of it may remain
                continue
            withdrawn_since = story.withdrawals > then.withdrawals  # journalled, so withdrawn again
            restored = dataclasses.replace(
                then,
                withdrawals=story.withdrawals,
                withdrawn=then.withdrawn or withdrawn_since,
                narrowings=list(story.narrowings),
                name_decisions=story.name_decisions,
            )
            for terms in story.narrowings[len(then.narrowings) :]:  # (a withdrawn story's terms show nothing either way)
                restored.terms = narrowed(restored.terms, terms)
            if story.name_decisions > then.name_decisions:  # the journal holds no names: decide them again
                restored = dataclasses.replace(restored, name_decided=False, signed_off=False)
            self.model[story_id] = restored
        self.publish()
        rows = [tuple(r) for r in self.db.execute("SELECT * FROM audit_log ORDER BY id").fetchall()]
        assert rows[: len(taken.audit)] == taken.audit  # the log went back to the backup's, and grows from there
        self.audit_seen = rows

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def published_files_hold_exactly_what_consent_allows(self):
        for audience in PUBLISHED:
            path = self.instance.published_path(audience)
            rows = published_rows(path)
            assert {row["id"] for row in rows} == self.expected[audience], audience
            raw = path.read_bytes().lower()
            for story_id, story in self.model.items():
                inside = story.word.encode() in raw
                assert inside == (story_id in self.expected[audience]), (audience, story_id, story)
            for row in rows:
                self.check_identity(self.model[row["id"]], self.published_levels[audience][row["id"]], row)

    def check_identity(self, story: ModelStory, level: str, row: dict) -> None:
        """The storyteller's names hidden as far as the identity level in force at publication says."""
        shown = " ".join(str(row[c] or "") for c in ("title", "body", "storyteller"))
        if level in HIDDEN:
            hidden = [*story.full_name.split(), story.alias]
        elif level == "first_name":
            hidden = story.full_name.split()[1:]
        else:
            hidden = []
        for name in hidden:
            assert not has_word(shown, name), (level, name, shown)

    @invariant()
    def erased_stories_leave_no_trace_anywhere(self):
        erased = [s.word for s in self.model.values() if s.erased]
        if erased:
            assert find_traces(self.instance.root, erased) == []

    @invariant()
    def audit_log_only_grows(self):
        rows = [tuple(r) for r in self.db.execute("SELECT * FROM audit_log ORDER BY id").fetchall()]
        assert len(rows) >= len(self.audit_seen)
        assert rows[: len(self.audit_seen)] == self.audit_seen
        self.audit_seen = rows

    @initialize()
    def backup_at_start(self):
        """A backup from the start, so most runs restore one older than their changes (narrowed consent, names)."""
        self.take_backup()

    @initialize(target=stories, ready=st.lists(st.tuples(terms_strategy, st.sampled_from(STORYTELLERS)), min_size=1, max_size=3))
    def start_with_reviewed_stories(self, ready):
        """Begin with a few stories already decided on, signed off and published, as in a live instance."""
        assert self.expected == {a: set() for a in PUBLISHED}
        ids = [self.record(raw, who, decide_now=True, sign_off_now=True) for raw, who in ready]
        self.publish()
        return multiple(*ids)


@dataclasses.dataclass
class TakenBackup:
    folder: Path
    model: dict[int, ModelStory]  # what the model knew when the backup was taken
    audit: list[tuple]


@functools.cache
def minute_of_sound() -> bytes:
    return tone(60.0)


def _fast_tmp() -> str | None:
    """RAM-backed temp space when there is some: fsync-heavy steps stay fast."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and _writable(shm) else None


def _writable(path: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


ConsentMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestConsentMachine = ConsentMachine.TestCase


# --- the sharpest cases, as plain examples ----------------------------------------------------


@pytest.fixture
def machine():
    m = ConsentMachine()
    yield m
    m.teardown()


def record_signed_off(m: ConsentMachine, **raw_overrides) -> int:
    raw = {
        "audiences": {"commissioners", "public"},
        "identity_level": "anonymous",
        "special_category": True,
        "evidence": "file",
        "given_days_ago": 5,
        "review_in_days": 30,
        **raw_overrides,
    }
    story_id = m.record(raw, STORYTELLERS[0])
    m.decide(story_id, "keep")
    m.sign_off(story_id)
    m.publish_now()
    assert story_id in m.expected["public"]
    return story_id


def test_withdrawn_consent_cannot_be_renewed_or_amended_only_given_afresh(machine):
    story_id = record_signed_off(machine)
    withdraw_story(machine.instance, story_id, actor="test", reason="changed my mind")
    raw = {
        "audiences": {"public"},
        "identity_level": "anonymous",
        "special_category": True,
        "evidence": "file",
        "given_days_ago": 0,
        "review_in_days": 30,
    }
    fields, _ = machine.form_terms(raw, "unused")
    for kind in ("renewed", "amended"):
        with pytest.raises(Invalid):
            change_consent(machine.db, story_id, kind, fields, actor="test", today=machine.today)
    run_publish(machine.instance, today=machine.today)
    assert published_rows(machine.instance.published_path("public")) == []
    # Fresh consent is allowed, but needs a new sign-off before anything is published again.
    change_consent(machine.db, story_id, "given", fields, actor="test", today=machine.today)
    run_publish(machine.instance, today=machine.today)
    assert published_rows(machine.instance.published_path("public")) == []
    approve_story(machine.db, story_id, actor="test", user_id=None)
    run_publish(machine.instance, today=machine.today)
    assert [row["id"] for row in published_rows(machine.instance.published_path("public"))] == [story_id]


def test_erasure_leaves_the_word_in_no_file_of_the_instance(machine):
    story_id = record_signed_off(machine)
    word = machine.model[story_id].word
    assert find_traces(machine.instance.root, [word])  # in the store, the evidence form and both files
    withdraw_story(machine.instance, story_id, actor="test", reason="erase everything", erase_story=True)
    assert find_traces(machine.instance.root, [word]) == []
    assert not any(machine.instance.evidence_dir.iterdir())


@pytest.mark.parametrize("crash", ["withdrawal, a file's change not committed", "withdrawal, one file changed"])
def test_a_withdrawal_killed_inside_a_files_change_is_finished_and_leaves_nothing(machine, crash):
    story_id = record_signed_off(machine)
    other = record_signed_off(machine)
    assert {row["id"] for row in published_rows(machine.instance.published_path("public"))} == {story_id, other}
    machine.crash(story_id, crash, erase=False)  # kill -9 there, then the catch-up serve and the worker run
    assert machine.killed_at_last_crash
    machine.published_files_hold_exactly_what_consent_allows()
    assert find_traces(machine.instance.published_dir, [machine.model[story_id].word]) == []
    assert [row["id"] for row in published_rows(machine.instance.published_path("public"))] == [other]


def test_a_passing_review_date_drops_the_story_at_the_next_publish(machine):
    story_id = record_signed_off(machine, review_in_days=30)
    machine.today += dt.timedelta(days=30)  # the review date itself: still in force
    machine.publish_now()
    assert [row["id"] for row in published_rows(machine.instance.published_path("public"))] == [story_id]
    machine.today += dt.timedelta(days=1)
    machine.publish_now()
    assert published_rows(machine.instance.published_path("public")) == []
    assert find_traces(machine.instance.published_dir, [machine.model[story_id].word]) == []


def test_consent_narrowed_after_a_backup_stays_narrowed_when_the_backup_is_restored(machine):
    story_id = record_signed_off(machine, identity_level="named")
    machine.take_backup()
    raw = {
        "audiences": {"commissioners"},
        "identity_level": "anonymous",
        "special_category": True,
        "evidence": "file",
        "given_days_ago": 5,
        "review_in_days": 30,
    }
    machine.change(story_id, "amended", raw, then_publish=True)
    machine.restore_backup(0)
    assert story_id not in machine.expected["public"] and story_id in machine.expected["commissioners"]
    assert machine.model[story_id].terms.identity_level == "anonymous"
    machine.published_files_hold_exactly_what_consent_allows()  # the storyteller's names are hidden too


def test_a_name_decided_after_a_backup_sends_the_story_back_for_review_when_restored(machine):
    story_id = record_signed_off(machine)
    machine.take_backup()
    machine.decide(story_id, "redact", then_publish=True)
    machine.restore_backup(0)
    assert not any(story_id in ids for ids in machine.expected.values())
    assert not machine.model[story_id].signed_off and not machine.model[story_id].name_decided
    machine.published_files_hold_exactly_what_consent_allows()
    machine.decide(story_id, "redact")
    machine.sign_off(story_id, then_publish=True)  # decided again and signed off: published again
    assert story_id in machine.expected["public"]
    machine.published_files_hold_exactly_what_consent_allows()
