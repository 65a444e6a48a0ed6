"""How a published story and a question's answer read in Datasette: in words, with the evidence marked.

Pure functions over values already read from a published file; stories/datasette_plugin.py reads
them and the templates in templates/datasette/ lay them out. Everything is escaped here, once.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from stories.assurance import CONTRIBUTIONS
from stories.consent import COMMISSIONERS, LABELS, PUBLIC
from stories.text import paragraphs

EXCERPT_CHARACTERS = 240  # a story's opening in a list of stories; the whole story is on its own page
AUDIENCE_WORDS = {
    PUBLIC: "Shared with everyone: the storyteller agreed to make this story public.",
    COMMISSIONERS: "Shared with commissioners: the storyteller agreed to share this story with those who fund the work.",
}


@dataclass(frozen=True)
class Choice:
    """One parameter of a question: what it is called, the list it is chosen from, and what is chosen."""

    name: str
    label: str
    any_label: str
    says: str
    options: tuple[tuple[str, str], ...]  # (value, label) as read from the file
    value: str = ""
    read_as: tuple[str, ...] = ()  # the options a typed word that is not one stands for ("loneliness")

    @property
    def chosen_label(self) -> str | None:
        """The chosen option's words, or None when nothing (or something not in the list) is chosen."""
        return ", ".join(self.read_as_labels) or next((label for value, label in self.options if value == self.value), None)

    @property
    def read_as_labels(self) -> list[str]:
        return [label for value, label in self.options if value in self.read_as]

    def selects(self, value: str, label: str) -> bool:
        """Whether the list shows this option as chosen."""
        return self.value in (value, label) or (bool(self.read_as) and value == self.read_as[0])

    @property
    def known(self) -> bool:
        return not self.value or bool(self.read_as) or any(self.value in (value, label) for value, label in self.options)


@dataclass(frozen=True)
class Relaxed:
    """A way out of an empty answer: the same question with one choice set back to "any"."""

    choice: Choice
    answers: int
    href: str


def story_body(body: str, quotes: Iterable[tuple[str, str]] = ()) -> Markup:
    """The story as paragraphs, each quote (words, what they evidence) marked where the story says it."""
    quotes = [(words, about) for words, about in quotes if words]
    return Markup("".join(f"<p>{_marked(part, quotes)}</p>" for part in paragraphs(body)))


def _marked(paragraph: str, quotes: Sequence[tuple[str, str]]) -> Markup:
    spans: list[tuple[int, int, str]] = []
    for words, about in quotes:
        start = paragraph.find(words)
        if start >= 0:
            spans.append((start, start + len(words), about))
    pieces: list[Markup] = []
    at = 0
    for start, end, about in sorted(spans):
        if start < at:  # two outcomes quoting overlapping words: the first mark holds them
            continue
        pieces.append(_lines(paragraph[at:start]))
        pieces.append(Markup('<mark title="{}">{}</mark>').format(about, _lines(paragraph[start:end])))
        at = end
    pieces.append(_lines(paragraph[at:]))
    return Markup("").join(pieces)


def _lines(text: str) -> Markup:
    return Markup("<br>").join(escape(line) for line in text.split("\n"))


def excerpt(body: str) -> Markup:
    """A story's opening for a list of stories: its first paragraph, cut at a word near the limit."""
    first = paragraphs(body)[0] if paragraphs(body) else ""
    if len(first) <= EXCERPT_CHARACTERS and len(paragraphs(body)) == 1:
        return Markup("<p>{}</p>").format(first)
    cut = first[:EXCERPT_CHARACTERS].rsplit(" ", 1)[0] if len(first) > EXCERPT_CHARACTERS else first
    return Markup("<p>{}…</p>").format(cut)


def as_list(value: str | None) -> list[str] | None:
    """A published list column (a JSON array of words), or None when the value is not one."""
    if not isinstance(value, str) or not value.startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return None
    return items


def bullet_list(items: Sequence[str], link: str | None = None) -> Markup:
    """Words as a list; each a link when `link` (a URL ending in `=`) is given."""
    if not items:
        return Markup('<span class="sb-none">none</span>')
    if link:
        rows = (Markup('<li><a href="{}{}">{}</a></li>').format(link, urllib.parse.quote_plus(item), item) for item in items)
    else:
        rows = (Markup("<li>{}</li>").format(item) for item in items)
    return Markup('<ul class="sb-list">{}</ul>').format(Markup("").join(rows))


def identity_in_words(level: str | None) -> str:
    """How the storyteller is credited, as they chose it."""
    words = LABELS.get(level or "")
    return f"{words}, as the storyteller chose" if words else "Not recorded"


def contribution_in_words(value: str | None) -> str | None:
    return CONTRIBUTIONS.get(value or "")


def question_in_words(choices: Sequence[Choice]) -> str:
    """The choices made, as a phrase: "Our relationships, improved, after Telephone befriending"."""
    said = [choice.says.format(choice.chosen_label or choice.value) for choice in choices if choice.value]
    return ", ".join(said) if said else "every answer in this file"


def relaxations(choices: Sequence[Choice], counts: Mapping[str, int], href: Mapping[str, str]) -> list[Relaxed]:
    """Each choice that, set back to "any", would find answers: the most answers first."""
    found = [Relaxed(choice, counts[choice.name], href[choice.name]) for choice in choices if counts.get(choice.name)]
    return sorted(found, key=lambda relaxed: -relaxed.answers)
