"""Search in the words people use: word families for the published index, a typed query read forgivingly.

A published file's search index (pipelines/published_file.py) holds each story twice: its words as
written, and each word's family. A family is the word's Snowball English (Porter2) stem, stemmed
again until it stops changing: one pass leaves "loneliness" at "loneli" and "lonely" at "lone", the
second joins them. A query is read here, never handed to SQLite as typed: words, OR, "phrases",
prefix* and -exclusions become an FTS5 expression of quoted tokens, and anything else (an unbalanced
quote, a lone *, NEAR(, brackets, colons) is read as plain words, so no query a person types is an
FTS5 syntax error. A plain word that names an outcome in a framework's vocabulary (the words of its
patterns) also finds that outcome's other words; in quotes it finds only its own family.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import snowballstemmer

from stories.frameworks import CONTEXT_LABEL, Framework

WORDS_COLUMN, FAMILIES_COLUMN = "words", "stems"
# A word, with the apostrophes inside it ("didn't", "o’clock"), as a person reads one.
# It starts with a letter or digit: a run of underscores or marks alone is no word.
WORD = re.compile(r"[^\W_]\w*(?:['’]\w+)*")
# A query's pieces: a quoted phrase (its closing quote may be missing), or a run of anything else but space.
ALPHANUMERIC = re.compile(r"[^\W_]+")
QUERY_PIECE = re.compile(r'"([^"]*)"?|(\S+)')
MAX_TERMS = 32  # a pasted paragraph is still searched, by its first words
MAX_STEMMING = 4  # Porter2 shortens or keeps a word: two passes reach the fixed point in practice
NOTHING = '""'  # an empty phrase: a valid FTS5 expression that matches no story
MATCH_PATTERN_KEYS = ("LOWER", "LEMMA", "ORTH", "TEXT", "NORM")
# Five Ways to Wellbeing is a lens on how change happened, not an outcome, and its words are broad
# ("lonely" and "friends" are both Connect): they would join outcomes a commissioner keeps apart.
LENSES = ("five-ways",)


@dataclass(frozen=True)
class Term:
    """One thing the person asked for: a word, a phrase (in quotes) or the start of a word (ending in *)."""

    words: tuple[str, ...]
    phrase: bool = False
    prefix: bool = False
    excluded: bool = False


@functools.cache
def _stemmer() -> Any:
    return snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Lower case without accents, with one kind of apostrophe: "Café" and "cafe" are one word."""
    folded = text.casefold().replace("’", "'")
    if folded.isascii():  # most stories: nothing to take off, and a story is read letter by letter otherwise
        return folded
    return "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


@functools.lru_cache(maxsize=200_000)
def family(word: str) -> str:
    """The family a word belongs to, as the index stores it: "lonely", "lonelier", "loneliness" -> "lone"."""
    stem = "".join(c for c in fold(word) if c.isalnum() or c == "'")
    for _ in range(MAX_STEMMING):
        again = _stemmer().stemWord(stem)
        if again == stem:
            break
        stem = again
    # One index token per word: FTS5's own tokenizer would split "didn't" at the apostrophe.
    return "".join(c for c in stem if c.isalnum())


def families(text: str) -> str:
    """A text as the index's family column holds it: one family per word, in the text's order."""
    return " ".join(filter(None, map(family, words(text))))


@functools.cache
def families_mark() -> str:
    """A mark of the rules `families` follows: families stored with this mark may be reused, any other
    mark means worked out again (fail closed).

    Made from the rules' own source and what they read (the stemmer's version, Python's Unicode tables
    that casefold and the word pattern follow), so an edit to them changes it with nobody to remember.
    """
    digest = hashlib.sha256(b"families 1\0")
    for rule in (fold, words, family.__wrapped__, families):
        digest.update(inspect.getsource(rule).encode() + b"\0")
    for setting in (
        WORD.pattern,
        MAX_STEMMING,
        importlib.metadata.version("snowballstemmer"),
        unicodedata.unidata_version,
        sys.version_info[:2],
    ):
        digest.update(repr(setting).encode() + b"\0")
    return digest.hexdigest()[:16]


def parse(typed: str) -> list[list[Term]]:
    """A typed query as groups that must all match, each group any one of its terms (OR binds its neighbours)."""
    groups: list[list[Term]] = []
    joined = False  # the last piece was OR: the next term joins the group before it
    count = 0
    for match in QUERY_PIECE.finditer(typed):
        quoted, bare = match.groups()
        if bare in ("OR", "|"):
            joined = bool(groups)
            continue
        if bare in ("AND", "NOT"):  # AND is what words do anyway; NOT is written as -word here
            continue
        found = _terms(quoted, bare)
        for term in found:
            if count == MAX_TERMS:
                return groups
            count += 1
            if joined and groups and not term.excluded:
                groups[-1].append(term)
            else:
                groups.append([term])
            joined = False
    return groups


def _terms(quoted: str | None, bare: str | None) -> list[Term]:
    if quoted is not None:
        found = tuple(words(quoted))
        return [Term(found, phrase=True)] if found else []
    excluded = bare.startswith("-") and len(bare) > 1
    pieces = words(bare)
    prefix = bare.rstrip(")]}").endswith("*") and bool(pieces)
    terms = [Term((word,), excluded=excluded) for word in pieces]
    if prefix:  # "isolat*": the last word is the start of a word
        terms[-1] = Term(terms[-1].words, prefix=True, excluded=excluded)
    return terms


def match_expression(typed: str, related: Mapping[str, Iterable[str]] | None = None) -> str:
    """The FTS5 expression for what was typed, always valid; `related` maps a family to its outcome's others."""
    groups = parse(typed)
    wanted = [group for group in groups if not any(term.excluded for term in group)]
    unwanted = [term for group in groups for term in group if term.excluded]
    if not wanted:  # "-debt" alone cannot be asked of FTS5: search for the word instead
        wanted, unwanted = [[Term(term.words, term.phrase, term.prefix)] for term in unwanted], []
    if not wanted:
        return NOTHING
    expression = " AND ".join(_group(group, related or {}) for group in wanted)
    return "".join([f"({expression})", *(f" NOT {_term(term, {})}" for term in unwanted)])


def _group(group: list[Term], related: Mapping[str, Iterable[str]]) -> str:
    return "(" + " OR ".join(_term(term, related) for term in group) + ")"


def _term(term: Term, related: Mapping[str, Iterable[str]]) -> str:
    # Every token is letters and digits inside double quotes: nothing typed can be read as FTS5 syntax.
    if term.prefix:  # "didn'*": the index's own tokenizer splits the words column at the apostrophe
        return f'{{{WORDS_COLUMN}}}: "{" ".join(ALPHANUMERIC.findall(" ".join(term.words)))}"*'
    if term.phrase:
        return f'{{{FAMILIES_COLUMN}}}: "{families(" ".join(term.words))}"'
    own = family(term.words[0])
    alternatives = sorted({own, *related.get(own, ())})
    return f"{{{FAMILIES_COLUMN}}}: (" + " OR ".join(f'"{f}"' for f in alternatives if f) + ")"


def plain_words(typed: str) -> list[str]:
    """The words typed outside quotes and without a *, as typed (folded): those that may name an outcome."""
    return [term.words[0] for group in parse(typed) for term in group if not (term.phrase or term.prefix or term.excluded)]


@dataclass(frozen=True)
class VocabularyWord:
    """A word a framework's patterns use for an outcome, and where it belongs."""

    word: str
    family: str
    framework: str
    framework_name: str
    domain: str
    domain_label: str
    rule: str


def vocabulary(frameworks: Iterable[Framework]) -> list[VocabularyWord]:
    """Every single word an outcome framework's patterns name an outcome by, one row per word and rule.

    Phrase patterns of one word and one-token patterns (a word or a list of them) are the
    vocabulary; longer patterns are grammar ("live on my own") and service names (CONTEXT_LABEL)
    mask words rather than name an outcome.
    """
    found: dict[tuple[str, str, str], VocabularyWord] = {}
    for framework in frameworks:
        if framework.id in LENSES:
            continue
        labels = {domain.id: domain.label for domain in framework.domains}
        for pattern in framework.patterns:
            if pattern["label"] == CONTEXT_LABEL or pattern["label"] not in labels:
                continue
            for word in _pattern_words(pattern["pattern"]):
                key = (framework.id, pattern["id"], word)
                found.setdefault(
                    key,
                    VocabularyWord(
                        word,
                        family(word),
                        framework.id,
                        framework.name,
                        pattern["label"],
                        labels[pattern["label"]],
                        pattern["id"],
                    ),
                )
    return sorted(found.values(), key=lambda v: (v.framework, v.rule, v.word))


def _pattern_words(pattern: str | list[dict[str, Any]]) -> list[str]:
    if isinstance(pattern, str):
        found = words(pattern)
        return found if len(found) == 1 else []
    if len(pattern) != 1:
        return []
    listed: list[str] = []
    for key in MATCH_PATTERN_KEYS:
        value = pattern[0].get(key)
        if isinstance(value, str):
            listed.append(value)
        elif isinstance(value, dict) and isinstance(value.get("IN"), list):
            listed.extend(str(item) for item in value["IN"])
    return [word for item in listed for word in words(item)[:1] if len(words(item)) == 1]


def related_families(rows: Iterable[tuple[str, str, str]]) -> dict[str, frozenset[str]]:
    """family -> the families of every word in the same outcome rules, from (family, framework, rule) rows."""
    by_rule: dict[tuple[str, str], set[str]] = {}
    for found, framework, rule in rows:
        by_rule.setdefault((framework, rule), set()).add(found)
    related: dict[str, set[str]] = {}
    for members in by_rule.values():
        for found in members:
            related.setdefault(found, set()).update(members)
    return {found: frozenset(members) for found, members in related.items()}
