"""A story as a given audience will read it: the storyteller's identity level applied to every text it publishes."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stories import folding, redact
from stories.consent import ANONYMOUS, FIRST_NAME, NAMED, PSEUDONYM
from stories.msc import published_note
from stories.names import (
    STREET_ADDRESS,
    NameMention,
    find_identifiers,
    find_names,
    fold,
    known_only_as_name,
    suggest_placeholders,
)
from stories.outcome_tags import evidence_span, has_evidence
from stories.outcomes import domain_label
from stories.recorded_names import read_name
from stories.story import Story
from stories.wordlists import DATA


@dataclasses.dataclass(frozen=True)
class PublishedText:
    """One text a story publishes: where it is shown ("key"), what a reviewer calls it, the words as written."""

    key: str  # "title", "body", "evidence:<tag id>", "contribution:<tag id>", "msc"
    label: str
    text: str


def published_texts(story: Story) -> list[PublishedText]:
    """Every text of this story that a published file or a board paper can show, as written.

    Defined once: the identity step, the name review and the version key all read this list
    (and the m007 triggers send a signed-off story back for review when any of them changes).
    Evidence cut from the body is the body's: only evidence that stands apart is a text of its own.
    """
    texts = [PublishedText("title", "Title", story.title or ""), PublishedText("body", "Story", story.body or "")]
    for tag in _confirmed_tags(story):
        domain = domain_label(tag["domain"])
        if tag["evidence"] and evidence_span(story.body or "", tag) is None:
            texts.append(PublishedText(f"evidence:{tag['id']}", f"Evidence for {domain}", tag["evidence"]))
        if tag["contribution_statement"]:
            texts.append(
                PublishedText(f"contribution:{tag['id']}", f"Contribution statement ({domain})", tag["contribution_statement"])
            )
    note = published_note(list(story.msc_choices))
    if note:
        texts.append(PublishedText("msc", "Most Significant Change reason", note))
    return texts


@dataclasses.dataclass(frozen=True)
class PublishedVersion:
    title: str
    body: str
    storyteller: str | None  # how the storyteller is credited at this identity level
    unresolved_names: tuple[str, ...]  # names found in any published text that no reviewer has decided on yet
    body_redacted: tuple[dict[str, Any], ...] = ()  # what was replaced in the body, to map offsets
    texts: Mapping[str, str] = dataclasses.field(default_factory=dict)  # the other published texts, by key

    def body_offsets(self, start: int, end: int) -> tuple[int, int]:
        """Where the original body's [start:end] stands in the published body (code points)."""
        return redact.new_offset(self.body_redacted, start), redact.new_offset(self.body_redacted, end, end=True)

    def evidence_offsets(self, story: Story, tag: Mapping[str, Any]) -> tuple[int, int] | None:
        """Where a tag's evidence stands in the published body, if it is the body's words."""
        span = evidence_span(story.body or "", tag)
        return self.body_offsets(*span) if span else None

    def evidence(self, story: Story, tag: Mapping[str, Any]) -> str | None:
        """A tag's evidence as published: cut from the published body where it is the body's words."""
        offsets = self.evidence_offsets(story, tag)
        return self.body[slice(*offsets)] if offsets else self.texts.get(f"evidence:{tag['id']}")

    def published_tags(self, story: Story) -> list[tuple[Mapping[str, Any], str]]:
        """The story's confirmed tags that are published, each with its evidence as published.

        An outcome without the words that show it is not published: the published files and every
        export made from them read this one list."""
        pairs = ((tag, self.evidence(story, tag)) for tag in story.tags)
        return [(tag, evidence) for tag, evidence in pairs if has_evidence(self._storytellers_words(story, tag, evidence))]

    def _storytellers_words(self, story: Story, tag: Mapping[str, Any], evidence: str | None) -> str | None:
        """The published evidence without the placeholders the identity step put in it: a selected name
        publishes as "[my neighbour]", which shows a reader nothing that changed."""
        offsets = self.evidence_offsets(story, tag)
        if evidence is None or offsets is None:
            return evidence
        start, end = offsets
        kept = list(evidence)
        for replaced in self.body_redacted:
            for offset in range(max(replaced["new_start"], start), min(replaced["new_end"], end)):
                kept[offset - start] = " "
        return "".join(kept)

    def contribution(self, tag: Mapping[str, Any]) -> str | None:
        return self.texts.get(f"contribution:{tag['id']}")

    @property
    def most_significant_change(self) -> str | None:
        return self.texts.get("msc")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublishedVersion:
        return cls(
            **{
                **data,
                "unresolved_names": tuple(data["unresolved_names"]),
                "body_redacted": tuple(data["body_redacted"]),
                "texts": dict(data.get("texts") or {}),
            }
        )


def version_key(story: Story) -> str:
    """Everything a published version depends on, hashed: a stored version with this key is current."""
    decisions = sorted((name, row["decision"], row["placeholder"]) for name, row in story.name_decisions.items())
    evidence = sorted((tag["id"], tag["evidence"], tag["start"], tag["end"]) for tag in _confirmed_tags(story))
    parts = [
        [(text.key, text.text) for text in published_texts(story)],
        evidence,
        list(story.storyteller_names),
        _level(story),
        story.pseudonym_seed,
        story.told_aloud,
        decisions,
        sorted(_organisation_words(story)),
        _rules_fingerprint(),
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# The version of the identity rules (folding, names, recorded_names, redact, sound_alike and this
# module): a stored version made under another is not current, so every story is redacted again at
# the next rebuild. Bump it whenever a change to those rules changes what a text publishes;
# tests/test_rules_version.py fails until you do (its golden file says how to regenerate).
# Comments, renames and speed-ups that publish the same words need no bump.
RULES_VERSION = 4
# The word lists the rules read are data: editing one changes the key by itself.
_NOT_RULES = frozenset({"LICENSES.txt"})


def rule_data_files() -> list[Path]:
    """The word lists the identity rules read (stories/data/*.txt), in a stable order."""
    return sorted(path for path in DATA.glob("*.txt") if path.name not in _NOT_RULES)


@functools.cache
def _rules_fingerprint() -> str:
    """A new rule or word list must not be hidden by versions made with the old one."""
    digest = hashlib.sha256(f"rules {RULES_VERSION}\0".encode())
    for path in rule_data_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def pseudonym(story: Story) -> str:
    """Stable per storyteller, from their random seed; never one of their own names."""
    return redact.pseudonym_for(story.pseudonym_seed, avoid=list(story.storyteller_names))


def published_version(story: Story) -> PublishedVersion:
    """Every published text with the consented identity level and the reviewer's name decisions applied."""
    names = list(story.storyteller_names)
    applied = {text.key: apply_identity(story, text.text) for text in published_texts(story)}
    found = {mention.name for redaction in applied.values() for mention in _mentions(redaction)}
    decided = {folding.readable(name) for name in story.name_decisions}
    free = _needs_no_decision(story)
    unresolved = tuple(sorted(name for name in found if name not in decided and _key(name) not in free))
    title, body = applied.pop("title"), applied.pop("body")
    texts = {key: redaction.text for key, redaction in applied.items()}
    return PublishedVersion(title.text, body.text, _credit(names, _level(story), story), unresolved, tuple(body.redacted), texts)


def names_not_shown(story: Story, version: PublishedVersion, text: str) -> list[str]:
    """Names in text (someone's words about the story, such as a case study's framing) that the
    published version does not show: found as in any story, and any word known only as a name, in
    any case. Read from what the reader may see, never from the names the identity level hides, so
    the answer cannot tell anyone which guess was right."""
    published = " ".join([version.title, version.body, *version.texts.values()])
    shown = {fold(word) for word in _WORDS.findall(folding.key(published))}
    shown |= {fold(word) for word in _WORDS.findall(" ".join([version.storyteller or "", *_organisation_words(story)]))}
    found = [m.name for m in [*find_names(text), *find_identifiers(text)]]
    inside = {fold(word) for name in found for word in _WORDS.findall(folding.key(name))}
    found += [word for word in _WORDS.findall(folding.key(text)) if known_only_as_name(word) and fold(word) not in inside]
    beyond = [name for name in found if not {fold(w) for w in _WORDS.findall(folding.key(name))} <= shown]
    return list(dict.fromkeys(beyond))


_WORDS = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


def stored_or_fresh(story: Story, stored: tuple[str, Mapping[str, Any]] | None) -> tuple[PublishedVersion, str | None]:
    """The stored version if still current; otherwise a fresh one and the key to store it under."""
    key = version_key(story)
    if stored is not None and stored[0] == key:
        return PublishedVersion.from_json(stored[1]), None
    return published_version(story), key


def apply_identity(story: Story, text: str, *, decisions: bool = True) -> redact.Redaction:
    """Any text from this story as its consent lets it be read (with the reviewer's name decisions, unless told not)."""
    names = list(story.storyteller_names)
    other_names = {}
    if decisions:
        other_names = {
            name: row["placeholder"] or "[name]" for name, row in story.name_decisions.items() if row["decision"] == "redact"
        }
    # With no recorded names there is nothing of the storyteller's to remove; any name left in
    # the text is found, flagged, and blocks publication until a reviewer decides on it.
    level = _applied_level(story)
    return redact.redact_for_level(
        text, level, names, seed=story.pseudonym_seed, other_names=other_names, sound_alike=story.told_aloud
    )


def names_for_review(story: Story) -> list[dict[str, Any]]:
    """Every name or contact detail found in any published text that a reviewer must decide on,
    with the texts it is in, a suggested placeholder and any decision already made."""
    decisions = {folding.readable(name): row for name, row in story.name_decisions.items()}
    replacing = any(row["decision"] == "redact" for row in decisions.values())
    settled = _needs_no_decision(story)
    level = _applied_level(story)
    theirs = _credit(list(story.storyteller_names), level, story) if level in (FIRST_NAME, PSEUDONYM) else None
    theirs = theirs or redact.STORYTELLER
    review: dict[str, dict[str, Any]] = {}
    for text in published_texts(story):
        # Found before the decisions are applied (so a decided name stays listed, to change it) and
        # after (a name a decision only partly covers: "Pryce" left when "Janet" was replaced).
        before = apply_identity(story, text.text, decisions=False)
        after = apply_identity(story, text.text) if replacing else before
        suggestions = suggest_placeholders(before.text, before.found)
        seen = [(before, m) for m in _mentions(before)] + ([(after, m) for m in _mentions(after)] if replacing else [])
        for redaction, mention in seen:
            if _key(mention.name) in settled:
                continue
            item = review.setdefault(
                mention.name,
                {
                    "name": mention.name,
                    "suggestion": _suggestion(mention, suggestions, theirs),
                    "decision": decisions.get(mention.name),
                    "fields": [],
                    "why": getattr(mention, "why", ""),
                    "disguised": False,
                },
            )
            if text.label not in item["fields"]:
                item["fields"].append(text.label)
            item["disguised"] = item["disguised"] or _disguised(redaction.text[mention.start : mention.end], mention.name)
    return sorted(review.values(), key=lambda item: item["name"])


def _disguised(written: str, name: str) -> bool:
    """Written with characters that do not show ("Ho\u200blt"), letters of another alphabet ("Ноlt"), odd forms ("Ｈｏｌｔ")."""
    return written.replace("’", "'") != name


def _mentions(redaction: redact.Redaction) -> list[NameMention]:
    """Every name and contact detail a reader of this text would still see."""
    return [*redaction.found, *find_identifiers(redaction.text)]


def _suggestion(mention: NameMention, suggestions: Mapping[str, str], theirs: str) -> str:
    if find_identifiers(mention.name):
        return "[address]" if STREET_ADDRESS.fullmatch(mention.name) else "[contact details]"
    if isinstance(mention, redact.MaybeStoryteller):
        return theirs  # it may be the storyteller's own name, misheard, or their initials: hide it as theirs
    return suggestions.get(mention.name) or "[name]"


def _confirmed_tags(story: Story) -> list[Mapping[str, Any]]:
    return [tag for tag in story.tags if tag.get("status", "confirmed") == "confirmed"]


def _key(name: str) -> str:
    """A credited name in any case or spelling: "SIOBHÁN" and "Siobhan" are "Siobhán"."""
    return folding.key(name).lower()


def _needs_no_decision(story: Story) -> set[str]:
    """Names that need no reviewer decision (as _key gives them): those credited, and the organisation's."""
    names = _credited(list(story.storyteller_names), _applied_level(story)) | _organisation_words(story)
    return {_key(name) for name in names}


def _level(story: Story) -> str:
    consent = story.consent
    return consent.identity_level if consent else ANONYMOUS


def _applied_level(story: Story) -> str:
    """The level the identity step applies: with no recorded names nothing of the storyteller's is known
    to hide (every name found waits for a reviewer); a first-name level with no first name hides all."""
    names = list(story.storyteller_names)
    if not names:
        return NAMED
    level = _level(story)
    if level == FIRST_NAME and not read_name(names[0]).first:
        return ANONYMOUS
    return level


def _credit(names: list[str], level: str, story: Story) -> str | None:
    if level == NAMED and names:
        return read_name(names[0]).credit
    if level == FIRST_NAME and names:
        return read_name(names[0]).first
    if level == PSEUDONYM:
        return pseudonym(story)
    return None


def _theirs(names: list[str]) -> list[str]:
    """The recorded names that are plainly the storyteller's: the first, and each alias that is one word or
    shares a name with it ("Mags", "Maggie Holt"); not "Kyle Bradshaw", another person's full name."""
    if not names:
        return []
    own = {fold(part) for part in read_name(names[0]).parts}
    return [
        name
        for i, name in enumerate(names)
        if i == 0 or len(read_name(name).parts) < 2 or own & {fold(part) for part in read_name(name).parts}
    ]


def _credited(names: list[str], level: str) -> set[str]:
    """Names the consent lets stay in the text, so they need no reviewer decision."""
    if level == NAMED:
        credited: set[str] = set()
        for name in _theirs(names):
            recorded = read_name(name)
            credited |= {folding.readable(name), recorded.natural, recorded.credit, *recorded.parts}
        return credited
    if level == FIRST_NAME and names:
        # The first name, and one-word nicknames, which are first-name level too.
        return {read_name(names[0]).first or "", *(alias for alias in names[1:] if read_name(alias).nickname)} - {""}
    return set()


def recorded_names(story: Story) -> list[dict[str, str]]:
    """What the identity level does with each name recorded as the storyteller's, for the reviewer to check."""
    names = list(story.storyteller_names)
    level, theirs = _applied_level(story), _theirs(names)
    credit = _credit(names, level, story)
    rows = []
    for i, name in enumerate(names):
        recorded = read_name(name)
        one_word = recorded.nickname and i > 0
        if level == NAMED:
            shown = f"shown as written; the story is credited to “{credit}”" if i == 0 else "shown as written"
        elif level == FIRST_NAME and i == 0:
            hidden = [part for part in recorded.parts if part != credit]
            shown = f"credited as “{credit}”" + (f"; {', '.join(hidden)} hidden (each becomes “{credit}”)" if hidden else "")
        elif level == FIRST_NAME and one_word:
            shown = "shown as written: a one-word alias is first-name level"
        else:
            shown = f"hidden: each part becomes “{credit or redact.STORYTELLER}”"
        warning = ""
        if name not in theirs and level == NAMED:
            shown = "not credited as the storyteller's"
            warning = (
                f"It shares no name with {names[0]}, so each mention of it is listed below for a decision, "
                "as another person's name would be."
            )
        elif name not in theirs:
            warning = f"It shares no name with {names[0]}: if it is someone else's, it is hidden as theirs all the same."
        rows.append({"name": name, "kind": "name" if i == 0 else "alias", "shown": shown, "warning": warning})
    return rows


def _organisation_words(story: Story) -> set[str]:
    """Words of the organisation's and interventions' names: capitalised, but nobody's name."""
    names = [story.organisation, *(i["name"] for i in story.interventions)]
    return {word for name in names for word in name.split()} | set(names)
