"""A story as a given audience will read it: the storyteller's identity level applied to every text it publishes."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines import redact
from pipelines.names import STREET_ADDRESS, NameMention, find_identifiers, suggest_placeholders
from stories.consent import ANONYMOUS, FIRST_NAME, NAMED, PSEUDONYM
from stories.msc import published_note
from stories.outcomes import domain_label


@dataclasses.dataclass(frozen=True)
class PublishedText:
    """One text a story publishes: where it is shown ("key"), what a reviewer calls it, the words as written."""

    key: str  # "title", "body", "evidence:<tag id>", "contribution:<tag id>", "msc"
    label: str
    text: str


def published_texts(story: Mapping[str, Any]) -> list[PublishedText]:
    """Every text of this story that a published file or a board paper can show, as written.

    Defined once: the identity step, the name review and the version key all read this list
    (and the m007 triggers send a signed-off story back for review when any of them changes).
    Evidence cut from the body is the body's: only evidence that stands apart is a text of its own.
    """
    texts = [PublishedText("title", "Title", story["title"] or ""), PublishedText("body", "Story", story["body"] or "")]
    for tag in _confirmed_tags(story):
        domain = domain_label(tag["domain"])
        if tag["evidence"] and _evidence_span(story, tag) is None:
            texts.append(PublishedText(f"evidence:{tag['id']}", f"Evidence for {domain}", tag["evidence"]))
        if tag["contribution_statement"]:
            texts.append(
                PublishedText(f"contribution:{tag['id']}", f"Contribution statement ({domain})", tag["contribution_statement"])
            )
    note = published_note(story.get("msc_choices") or [])
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

    def body_span(self, start: int, end: int) -> str:
        """The published words standing where the original body's [start:end] stood."""
        return self.body[redact.new_offset(self.body_redacted, start) : redact.new_offset(self.body_redacted, end, end=True)]

    def evidence(self, story: Mapping[str, Any], tag: Mapping[str, Any]) -> str | None:
        """A tag's evidence as published: cut from the published body where it is the body's words."""
        span = _evidence_span(story, tag)
        return self.body_span(*span) if span else self.texts.get(f"evidence:{tag['id']}")

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


def version_key(story: Mapping[str, Any]) -> str:
    """Everything a published version depends on, hashed: a stored version with this key is current."""
    decisions = sorted((name, row["decision"], row["placeholder"]) for name, row in (story.get("name_decisions") or {}).items())
    evidence = sorted((tag["id"], tag["evidence"], tag["start"], tag["end"]) for tag in _confirmed_tags(story))
    parts = [
        [(text.key, text.text) for text in published_texts(story)],
        evidence,
        story["storyteller_names"],
        _level(story),
        story["pseudonym_seed"],
        _told_aloud(story),
        decisions,
        sorted(_organisation_words(story)),
        _redactor_fingerprint(),
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@functools.cache
def _redactor_fingerprint() -> str:
    """A new name list or redaction rule must not be hidden by versions made with the old one."""
    folder = Path(redact.__file__).parent
    digest = hashlib.sha256()
    for path in [folder / "redact.py", folder / "names.py", folder / "sound_alike.py", folder / "identity.py"]:
        digest.update(path.read_bytes())
    for path in sorted((folder / "data").glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def pseudonym(story: Mapping[str, Any]) -> str:
    """Stable per storyteller, from their random seed; never one of their own names."""
    return redact.pseudonym_for(story["pseudonym_seed"], avoid=story["storyteller_names"])


def published_version(story: Mapping[str, Any]) -> PublishedVersion:
    """Every published text with the consented identity level and the reviewer's name decisions applied."""
    names = list(story["storyteller_names"])
    applied = {text.key: apply_identity(story, text.text) for text in published_texts(story)}
    found = {mention.name for redaction in applied.values() for mention in _mentions(redaction)}
    settled = set(story.get("name_decisions") or {}) | _needs_no_decision(story)
    unresolved = tuple(sorted(found - settled))
    title, body = applied.pop("title"), applied.pop("body")
    texts = {key: redaction.text for key, redaction in applied.items()}
    return PublishedVersion(title.text, body.text, _credit(names, _level(story), story), unresolved, tuple(body.redacted), texts)


def stored_or_fresh(
    story: Mapping[str, Any], stored: tuple[str, Mapping[str, Any]] | None
) -> tuple[PublishedVersion, str | None]:
    """The stored version if still current; otherwise a fresh one and the key to store it under."""
    key = version_key(story)
    if stored is not None and stored[0] == key:
        return PublishedVersion.from_json(stored[1]), None
    return published_version(story), key


def apply_identity(story: Mapping[str, Any], text: str, *, decisions: bool = True) -> redact.Redaction:
    """Any text from this story as its consent lets it be read (with the reviewer's name decisions, unless told not)."""
    names = list(story["storyteller_names"])
    other_names = {}
    if decisions:
        other_names = {
            name: row["placeholder"] or "[name]"
            for name, row in (story.get("name_decisions") or {}).items()
            if row["decision"] == "redact"
        }
    # With no recorded names there is nothing of the storyteller's to remove; any name left in
    # the text is found, flagged, and blocks publication until a reviewer decides on it.
    level = _level(story) if names else NAMED
    return redact.redact_for_level(
        text, level, names, seed=story["pseudonym_seed"], other_names=other_names, sound_alike=_told_aloud(story)
    )


def names_for_review(story: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every name or contact detail found in any published text that a reviewer must decide on,
    with the texts it is in, a suggested placeholder and any decision already made."""
    decisions = story.get("name_decisions") or {}
    replacing = any(row["decision"] == "redact" for row in decisions.values())
    settled = _needs_no_decision(story)
    review: dict[str, dict[str, Any]] = {}
    for text in published_texts(story):
        # Found before the decisions are applied (so a decided name stays listed, to change it) and
        # after (a name a decision only partly covers: "Pryce" left when "Janet" was replaced).
        before = apply_identity(story, text.text, decisions=False)
        after = apply_identity(story, text.text) if replacing else before
        suggestions = suggest_placeholders(before.text, before.found)
        for mention in [*_mentions(before), *(_mentions(after) if replacing else [])]:
            if mention.name in settled:
                continue
            item = review.setdefault(
                mention.name,
                {
                    "name": mention.name,
                    "suggestion": _suggestion(mention, suggestions),
                    "decision": decisions.get(mention.name),
                    "fields": [],
                },
            )
            if text.label not in item["fields"]:
                item["fields"].append(text.label)
    return sorted(review.values(), key=lambda item: item["name"])


def _mentions(redaction: redact.Redaction) -> list[NameMention]:
    """Every name and contact detail a reader of this text would still see."""
    return [*redaction.found, *find_identifiers(redaction.text)]


def _suggestion(mention: NameMention, suggestions: Mapping[str, str]) -> str:
    if find_identifiers(mention.name):
        return "[address]" if STREET_ADDRESS.fullmatch(mention.name) else "[contact details]"
    if isinstance(mention, redact.SoundAlike):
        return redact.STORYTELLER  # it may be the storyteller's own name, misheard
    return suggestions.get(mention.name) or "[name]"


def _confirmed_tags(story: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [tag for tag in story.get("tags") or [] if tag.get("status", "confirmed") == "confirmed"]


def _evidence_span(story: Mapping[str, Any], tag: Mapping[str, Any]) -> tuple[int, int] | None:
    """Where a tag's evidence stands in the body: its offsets while they still hold, else the words found again."""
    evidence, start, end, body = tag["evidence"], tag["start"], tag["end"], story["body"] or ""
    if not evidence:
        return None
    if start is not None and end is not None and body[start:end] == evidence:
        return start, end
    at = body.find(evidence)
    return (at, at + len(evidence)) if at >= 0 else None


def _told_aloud(story: Mapping[str, Any]) -> bool:
    """A transcript spells names as it heard them: sound-alikes of the storyteller's names count as theirs."""
    return story.get("source") == "audio"


def _needs_no_decision(story: Mapping[str, Any]) -> set[str]:
    names = list(story["storyteller_names"])
    level = _level(story) if names else NAMED
    return _credited(names, level) | _organisation_words(story)


def _level(story: Mapping[str, Any]) -> str:
    consent = story["consent"]
    return consent.identity_level if consent else ANONYMOUS


def _credit(names: list[str], level: str, story: Mapping[str, Any]) -> str | None:
    if level == NAMED and names:
        return names[0]
    if level == FIRST_NAME and names:
        return names[0].split()[0]
    if level == PSEUDONYM:
        return pseudonym(story)
    return None


def _credited(names: list[str], level: str) -> set[str]:
    """Names the consent lets stay in the text, so they need no reviewer decision."""
    if level == NAMED:
        return {part for name in names for part in [name, *name.split()]}
    if level == FIRST_NAME and names:
        # The first name, and one-word nicknames, which are first-name level too.
        return {names[0].split()[0], *(alias for alias in names[1:] if len(alias.split()) == 1)}
    return set()


def _organisation_words(story: Mapping[str, Any]) -> set[str]:
    """Words of the organisation's and interventions' names: capitalised, but nobody's name."""
    names = [story["organisation"], *(i["name"] for i in story["interventions"])]
    return {word for name in names for word in name.split()} | set(names)
