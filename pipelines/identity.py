"""A story as a given audience will read it: the storyteller's identity level applied to its words."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines import redact
from pipelines.names import find_identifiers, suggest_placeholders
from stories.consent import ANONYMOUS, FIRST_NAME, NAMED, PSEUDONYM


@dataclasses.dataclass(frozen=True)
class PublishedVersion:
    title: str
    body: str
    storyteller: str | None  # how the storyteller is credited at this identity level
    unresolved_names: tuple[str, ...]  # names found that no reviewer has decided on yet
    body_redacted: tuple[dict[str, Any], ...] = ()  # what was replaced in the body, to map offsets

    def body_span(self, start: int, end: int) -> str:
        """The published words standing where the original body's [start:end] stood."""
        return self.body[redact.new_offset(self.body_redacted, start) : redact.new_offset(self.body_redacted, end, end=True)]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublishedVersion:
        return cls(**{**data, "unresolved_names": tuple(data["unresolved_names"]), "body_redacted": tuple(data["body_redacted"])})


def version_key(story: Mapping[str, Any]) -> str:
    """Everything a published version depends on, hashed: a stored version with this key is current."""
    decisions = sorted((name, row["decision"], row["placeholder"]) for name, row in (story.get("name_decisions") or {}).items())
    parts = [
        story["title"],
        story["body"],
        story["storyteller_names"],
        _level(story),
        story["pseudonym_seed"],
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
    for path in [folder / "redact.py", folder / "names.py", *sorted((folder / "data").glob("*"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def pseudonym(story: Mapping[str, Any]) -> str:
    """Stable per storyteller, from their random seed; never one of their own names."""
    return redact.pseudonym_for(story["pseudonym_seed"], avoid=story["storyteller_names"])


def published_version(story: Mapping[str, Any]) -> PublishedVersion:
    """Title and body with the consented identity level and the reviewer's name decisions applied."""
    level = _level(story)
    names = list(story["storyteller_names"])
    decisions = story.get("name_decisions") or {}
    title = apply_identity(story, story["title"])
    body = apply_identity(story, story["body"])
    found = {mention.name for mention in title.found + body.found}
    found |= {mention.name for text in (title.text, body.text) for mention in find_identifiers(text)}
    settled = set(decisions) | _credited(names, level) | _organisation_words(story)
    unresolved = tuple(sorted(name for name in found if name not in settled))
    return PublishedVersion(title.text, body.text, _credit(names, level, story), unresolved, tuple(body.redacted))


def stored_or_fresh(
    story: Mapping[str, Any], stored: tuple[str, Mapping[str, Any]] | None
) -> tuple[PublishedVersion, str | None]:
    """The stored version if still current; otherwise a fresh one and the key to store it under."""
    key = version_key(story)
    if stored is not None and stored[0] == key:
        return PublishedVersion.from_json(stored[1]), None
    return published_version(story), key


def apply_identity(story: Mapping[str, Any], text: str) -> redact.Redaction:
    """Any text from this story (title, body, an evidence quote) as its consent lets it be read."""
    names = list(story["storyteller_names"])
    decisions = story.get("name_decisions") or {}
    other_names = {name: row["placeholder"] or "[name]" for name, row in decisions.items() if row["decision"] == "redact"}
    # With no recorded names there is nothing of the storyteller's to remove; any name left in
    # the text is found, flagged, and blocks publication until a reviewer decides on it.
    level = _level(story) if names else NAMED
    return redact.redact_for_level(text, level, names, seed=story["pseudonym_seed"], other_names=other_names)


def names_for_review(story: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every other person's name found in the story, with a suggested placeholder and any decision."""
    names = list(story["storyteller_names"])
    level = _level(story) if names else NAMED
    decisions = story.get("name_decisions") or {}
    settled = _credited(names, level) | _organisation_words(story)
    review = {}
    for text in (story["title"], story["body"]):
        without_storyteller = redact.redact_for_level(text, level, names, seed=story["pseudonym_seed"])
        suggestions = suggest_placeholders(without_storyteller.text, without_storyteller.found)
        identifiers = find_identifiers(without_storyteller.text)
        suggestions.update({mention.name: "[contact details]" for mention in identifiers})
        for mention in [*without_storyteller.found, *identifiers]:
            if mention.name not in settled and mention.name not in review:
                review[mention.name] = {
                    "name": mention.name,
                    "suggestion": suggestions.get(mention.name) or "[name]",
                    "decision": decisions.get(mention.name),
                }
    return sorted(review.values(), key=lambda item: item["name"])


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
