"""Redact a story to the storyteller's identity level: their names in every variant, others' as placeholders."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import product
from typing import Any

from stories import folding, sound_alike
from stories.consent import ANONYMOUS, FIRST_NAME, IDENTITY_LEVELS, NAMED, PSEUDONYM
from stories.names import (
    IDENTIFIER,
    TITLE_WORDS,
    TITLES,
    NameMention,
    contacts,
    find_names,
    fold,
    given_name,
    joined_segments,
    lexicon,
    no_word,
)
from stories.recorded_names import read_name
from stories.wordlists import read_list

STORYTELLER = "[the storyteller]"


class RedactionError(ValueError):
    """A redaction request that cannot be carried out safely."""


@dataclass(frozen=True)
class Redaction:
    text: str
    redacted: list[dict]  # name, start, end (original text), replacement, new_start, new_end (redacted text)
    found: list[NameMention]

    def as_json(self) -> dict:
        """The shape printed by `storybank redact --json`."""
        return {
            "text": self.text,
            "redacted": self.redacted,
            "found": [asdict(m) for m in self.found],
        }

    def new_offset(self, offset: int, *, end: bool = False) -> int:
        return new_offset(self.redacted, offset, end=end)


def new_offset(redacted: Sequence[Mapping[str, Any]], offset: int, *, end: bool = False) -> int:
    """Where an offset in the original text falls in the redacted text (inside a name: its placeholder's edge)."""
    shift = 0
    for item in redacted:
        if offset < item["start"] or (end and offset == item["start"]):
            break
        if offset < item["end"] or (end and offset == item["end"]):
            return item["new_end"] if end else item["new_start"]
        shift = item["new_end"] - item["end"]
    return offset + shift


@functools.cache
def _pseudonyms() -> tuple[str, ...]:
    return tuple(read_list("pseudonyms.txt"))


# --- redacting ----------------------------------------------------------------------------

# Titles are swallowed with a redacted name ("Mrs Smith", "Mister Smith" become one placeholder):
# formal ones in any case, those that are everyday words only capitalised ("Miss", "DOCTOR"), so
# "I miss Maria" keeps "miss"; kin words are not titles ("my sister Maria" keeps "my sister").
_WORD_TITLES = sorted({form for title in TITLE_WORDS - TITLES for form in (title.capitalize(), title.upper())})
_HONORIFIC_PREFIX = (
    r"(?:(?:(?i:" + "|".join(sorted(TITLES, key=lambda t: (-len(t), t))) + r")"
    r"|" + "|".join(sorted(_WORD_TITLES, key=lambda t: (-len(t), t))) + r")\.?\s+)?"
)


def _name_parts(name: str) -> list[str]:
    """The words of a recorded name without its title or particles, given names first ("Holt, Margaret": Margaret, Holt)."""
    return read_name(name).parts


def _case_forms(word: str, allow_lower: bool) -> list[str]:
    forms = [word, word.upper(), word.title() if "'" not in word else word]
    if allow_lower:
        forms.append(word.lower())
    return forms


def _initial_choices(part: str) -> list[str]:
    """How one name part is written as an initial: "Holt-Barnes" as "H-B", "H" or "B"."""
    letters = [piece[0].upper() for piece in part.split("-") if piece and piece[0].isalpha()]
    return ["-".join(letters), *letters] if len(letters) > 1 else letters


def _initials(parts: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(initials written apart, hidden like the name: "M.A.H-B.", "M. Holt"'s "M.", "M H";
    initials run together, only flagged for a reviewer: "MH" is also "mental health")."""
    return _initials_of(tuple(parts))


@functools.lru_cache(maxsize=4096)
def _initials_of(parts: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    choices = [_initial_choices(part) for part in parts]
    if not all(choices):
        return (), ()
    # A hyphenated name has initials of its own: "J-P", "J.P." and "JP" for Jean-Paul.
    hyphenated = [_initials_of(tuple(part.split("-"))) for part in parts if "-" in part]
    if len(parts) < 2:
        together = tuple(i for _, initials in hyphenated for i in initials)
        return (f"{choices[0][0]}.", *(i for apart, _ in hyphenated for i in apart[:-1])), together
    sequences = sorted({*product(*choices), *(product(choices[0], choices[-1]) if len(parts) > 2 else ())})
    apart: list[str] = [i for initials, _ in hyphenated for i in initials[:-1]]
    together: list[str] = [i for _, initials in hyphenated for i in initials]
    for letters in sequences:
        apart += [".".join(letters) + ".", ". ".join(letters) + ".", " ".join(letters)]
        together.append("".join(letters).replace("-", ""))
    if any("-" in letters for letters in choices[0]):
        apart += [choices[0][0]]  # "J-P van der Berg"
    return (*apart, f"{choices[0][0]}."), tuple(together)


def name_variants(name: str, aliases: Iterable[str] = ()) -> list[str]:
    """Every written form of a person's names that a reader would recognise, longest first:
    the full name and each part, in title, upper and lower case, hyphen and apostrophe
    pieces, a surname with its particles ("van der Berg"), spellings without the apostrophe, and
    initials ("M.S.", "M. Smith", "Maria S."). Lower-case forms of everyday words (Will, Grace) are
    left out: "will" is not a name. Unicode forms, accents and look-alike letters need no variants:
    matching runs on folded text (stories/folding.py)."""
    return list(_variants(name, tuple(aliases)))


@functools.lru_cache(maxsize=4096)
def _variants(name: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
    """name_variants, kept: the identity step asks for the same names for every text a story publishes."""
    common = lexicon().common
    variants: list[str] = []
    for full in [name, *aliases]:
        full = " ".join(folding.readable(full).split())
        parts = _name_parts(full)
        if not parts:
            continue
        plain = " ".join(parts)
        variants += _case_forms(full, True) + _case_forms(plain, True)
        with_particles = read_name(full).surname_with_particles
        pieces: list[str] = [with_particles] if with_particles else []
        for part in parts:
            pieces.append(part)
            if "-" in part:
                pieces += [part.replace("-", " "), part.replace("-", ""), *part.split("-")]
            if "'" in part:
                head, _, tail = part.partition("'")
                pieces += [part.replace("'", ""), part.replace("'", " ")]
                if len(tail) > 2:
                    pieces.append(tail)
                if len(head) > 2:
                    pieces.append(head)
        for piece in pieces:
            if len(piece) > 1:
                variants += _case_forms(piece, piece.lower() not in common)
        if len(parts) > 1:
            first, last = parts[0], parts[-1]
            variants += [f"{first[0]}. {last}", f"{first[0]} {last}", f"{first} {last[0]}.", f"{first} {last}"]
        variants += list(_initials(parts)[0])
    seen: dict[str, None] = {}
    for v in sorted(variants, key=len, reverse=True):
        seen.setdefault(v.strip(), None)
    return tuple(v for v in seen if v)


def run_together_initials(names: Iterable[str]) -> list[str]:
    """Initials written as one word ("MH", "MAB") of each recorded name of two or more parts."""
    return sorted({i for name in names for i in _initials(_name_parts(folding.readable(name)))[1] if len(i) > 1})


def _possessive_suffix(text: str, end: int) -> int:
    """Length of a possessive after a name: "Maria's", "James'" or "Marias"."""
    if text[end : end + 2] in ("'s", "’s") and not text[end + 2 : end + 3].isalnum():
        return 2
    if text[end : end + 1] in ("'", "’") and not text[end + 1 : end + 2].isalnum():
        return 1
    return 0


# Pieces of a hyphenated compound around a name: "Holt-Barnes" and "Barnes-Holt" are the surname.
_COMPOUND_HEAD = r"(?P<head>(?:[^\W\d_][\w'’]*-)*)"
_COMPOUND_TAIL = r"(?P<tail>(?:-[^\W\d_][\w'’]*)*)"


def _pattern(variants: Iterable[str], any_case: set[str]) -> re.Pattern[str]:
    """One regex for all variants, longest first; those in any_case match in any case
    ("Maria SMITH"), the rest (everyday words, initials) only as written. A name spelled out
    ("H-O-L-T") is one word in the folded text, so it is matched as the word."""
    alternation = "|".join(
        f"(?i:{_escaped(v)})" if v in any_case else _escaped(v) for v in sorted(set(variants), key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w'’.-]){_HONORIFIC_PREFIX}{_COMPOUND_HEAD}(?P<name>{alternation}){_COMPOUND_TAIL}(?![\w-])")


# A space between the words of a name stands for any spacing a reader sees as one: "Maria" at a line's end
# and "Smith" at the next one's start are still "Maria Smith", and a name decided on as "Ho lt" is hidden
# where it was written "Ho" / "lt".
_SPACE = r"(?:[^\S\n]+\n?|\n)[^\S\n]*"


_ONE_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=65536)
def _spelled_apart(variant: str) -> bool:
    return bool(folding.fold(variant).spelled)


@functools.lru_cache(maxsize=65536)
def _escaped(variant: str) -> str:
    return re.escape(variant).replace("\\ ", _SPACE)


# --- replacing ------------------------------------------------------------------------------


def _folded_rules(rules: Mapping[str, str]) -> dict[str, str]:
    """Rules as matching sees them; where two variants fold alike, the later wins (the storyteller's come last)."""
    folded: dict[str, str] = {}
    for variant, replacement in rules.items():
        folded[folding.key(variant)] = replacement
    return folded


def _apply(
    folded: folding.Folded, rules: Mapping[str, str], apart: frozenset[str] = frozenset()
) -> tuple[str, list[dict], list[tuple[int, int]]]:
    """Replace every variant in rules (folded variant -> replacement) and say what was replaced,
    with the spans of the replacements in the new text.

    Matching runs on folded text ("Hölt", "Ｈｏｌｔ", "Ho\u200blt" meet "Holt"); replacing runs on the
    original, so everything around a name stays exactly as written."""
    text = folded.original
    if not rules:
        return text, [], []
    new_folded, redacted, spans = _apply_folded(folded.text, rules, apart, {start for start, _ in folded.spelled})
    if folded.unchanged:
        return new_folded, redacted, spans
    out: list[str] = []
    mapped: list[dict] = []
    pos = length = 0
    for item in redacted:
        start, end = folded.span(item["start"], item["end"])
        written = new_folded[item["new_start"] : item["new_end"]]
        out += [text[pos:start], written]
        new_start = length + start - pos
        length = new_start + len(written)
        mapped.append({**item, "name": text[start:end], "start": start, "end": end, "new_start": new_start, "new_end": length})
        pos = end
    out.append(text[pos:])
    return "".join(out), mapped, [(item["new_start"], item["new_end"]) for item in mapped]


def _apply_folded(
    text: str, rules: Mapping[str, str], apart: frozenset[str], spelled: set[int]
) -> tuple[str, list[dict], list[tuple[int, int]]]:
    """_apply on the folded text; a variant in `apart` ("M.A.B.", folded "MAB.") matches only where the
    text spelled its letters apart too (a start in `spelled`), never the same letters run together."""
    # A variant whose lower-case form is listed too is a name in any case.
    any_case = {v for v in rules if v.lower() in rules and v.lower() != v.upper()}
    by_fold = {v.casefold(): v for v in any_case}
    bare_s = {v + "s": v for v in rules if v[-1:].isalpha() and v[-1] not in "sS"}
    pattern = _pattern([*rules, *bare_s], any_case | {v + "s" for v in any_case})
    out: list[str] = []
    redacted: list[dict] = []
    spans: list[tuple[int, int]] = []
    pos = length = 0
    for m in pattern.finditer(text):
        variant = m.group("name")
        if variant not in rules:
            variant = _ONE_SPACE.sub(" ", variant)  # "Pri\nya" is the rule "Pri ya"
        suffix = _possessive_suffix(text, m.end())
        if variant not in rules and variant.casefold() in by_fold:
            variant = by_fold[variant.casefold()]
        elif variant not in rules:  # "Marias" is "Maria" + s
            variant, suffix = bare_s.get(variant) or by_fold[variant[:-1].casefold()], -1
        if variant in apart and m.start("name") not in spelled:
            continue  # run together ("MAB") they are only flagged: "MH" is also mental health
        replacement, end = rules[variant], m.end() + max(suffix, 0)
        possessive = "'s" if suffix else ""
        start = _absorb_role(text, pos, m.start(), replacement)
        gap = text[pos:start]
        same_person = redacted and redacted[-1]["replacement"] == replacement
        if same_person and not gap.strip() and "\n" not in gap and not out[-1].endswith("'s"):
            # "Maria  Smith" or "M. Smith": one person, one placeholder
            out.append(possessive)
            length += len(possessive)
            spans[-1] = (spans[-1][0], length)
            redacted[-1].update(end=end, name=text[redacted[-1]["start"] : end], new_end=length)
        else:
            written = replacement + possessive
            out += [gap, written]
            spans.append((length + len(gap), length + len(gap) + len(written)))
            length += len(gap) + len(written)
            redacted.append(
                {
                    "name": text[start:end],
                    "start": start,
                    "end": end,
                    "replacement": replacement,
                    "new_start": spans[-1][0],
                    "new_end": spans[-1][1],
                }
            )
        pos = end
    out.append(text[pos:])
    return "".join(out), redacted, spans


def _absorb_role(text: str, floor: int, start: int, replacement: str) -> int:
    """Start a replacement earlier when the words before the name are its placeholder's own:
    "my son Jamie" becomes "[my son]", not "my son [my son]"."""
    role = replacement[1:-1] if replacement.startswith("[") and replacement.endswith("]") else ""
    before = text[max(floor, start - len(role) - 1) : start]
    if (
        role
        and before.lower() == f"{role.lower()} "
        and (start - len(before) == 0 or not text[start - len(before) - 1].isalnum())
    ):
        return start - len(before)
    return start


# --- words joined into others -------------------------------------------------------------

# A handle, hashtag, user name or address is one token however its words are joined: by case,
# digits, "_", "." or "#" ("MargaretHolt", "#HoltFamily", "kylebradshaw88", "margaret.holt"), or
# run together with particles ("vanderberg"). One holding a replaced name is replaced whole.
_TOKEN = frozenset("_.#@")
_JOINED = re.compile(r"[\d_.#@]|[a-z][A-Z]")
MIN_JOINED = 3  # "Jo" or "Li" inside a longer word is too often something else


@functools.lru_cache(maxsize=256)
def _hint(words: tuple[str, ...]) -> re.Pattern[str]:
    """The name words (lower case) anywhere, to be run on lower-cased text: quicker than a case-blind search."""
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _token_around(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in _TOKEN):
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] in _TOKEN):
        end += 1
    while start < end and text[start] == ".":
        start += 1
    while end > start and text[end - 1] == ".":
        end -= 1
    return start, end


def _run_together(word: str, names: Mapping[str, str], joiners: set[str]) -> str | None:
    """The replacement if word is made of name words (at least one of `names`), joiners and given names only:
    "vanderberg", "mholt" and "holtm" (an initial before or after), "maggieholt" (a given name beside it)."""
    reached: dict[int, str | None] = {0: None}
    for i in range(len(word)):
        if i not in reached:
            continue
        for j in range(i + 1, len(word) + 1):
            piece = word[i:j]
            if piece in names:
                reached[j] = reached.get(j) or names[piece]
            elif j not in reached and (
                (piece in joiners and (len(piece) > 1 or reached[i] is None or j == len(word)))
                or (len(piece) >= MIN_JOINED and given_name(piece))
            ):
                reached[j] = reached[i]
    return reached.get(len(word))


def _joined_rules(text: str, rules: Mapping[str, str], joiners: set[str]) -> dict[str, str]:
    """Tokens of text (folded) that hold a replaced name joined with other words or marks, and whole
    e-mail and web addresses and handles holding one: {token: replacement}. `joiners` are words that may
    stand beside a name in a token without being one (its particles, a first name that is kept)."""
    common = lexicon().common
    words = {v.lower(): r for v, r in rules.items() if v.isalpha() and len(v) >= MIN_JOINED}
    if not words:
        return {}
    hint = _hint(tuple(words))
    lower = text.lower()
    if len(lower) != len(text):  # a letter whose lower case is longer ("İ"): match case-blind instead
        hint, lower = re.compile(hint.pattern, re.IGNORECASE), text
    if not hint.search(lower):
        return {}
    found: dict[str, str] = {}
    for start, end in contacts(text):
        inside = hint.search(lower, start, end)
        if inside:
            found[text[start:end]] = words[inside.group().lower()]
    uncommon = {w: r for w, r in words.items() if w not in common}
    for m in hint.finditer(lower):
        start, end = _token_around(text, m.start(), m.end())
        token = text[start:end]
        if token in found or token in rules:
            continue
        joined = bool(_JOINED.search(token))
        # "MHolt": an initial in capitals before a capitalised name is one word, not two segments.
        whole = _run_together(token.lower(), uncommon, joiners | set(words)) if token.isalpha() and not joined else None
        if whole and token.lower() not in words:
            found[token] = whole
            continue
        for segment in joined_segments(token):
            if joined and segment in rules and segment.lower() in words:
                found[token] = rules[segment]  # "#WillPower": a capitalised part stands as written
                break
            replacement = _run_together(segment.lower(), uncommon, joiners | set(words))
            if replacement and (joined or segment.lower() not in words):
                found[token] = replacement
                break
    return found


# --- the storyteller ----------------------------------------------------------------------


@dataclass(frozen=True)
class MaybeStoryteller(NameMention):
    """A word that may be the storyteller's own name (misheard, or their initials): flagged for a reviewer, not replaced."""

    why: str = field(default="", compare=False)


INITIALS = "may be the storyteller's initials"
SPLIT = "may be the storyteller's name, split in two"
MIN_SPLIT = 4  # "Lee" split in two is too often two words


def _split_parts(text: str, parts: Sequence[str]) -> tuple[set[str], set[str]]:
    """The storyteller's name parts written split in two by a space or a line break ("Ho lt", "Ho" / "lt"),
    as written in the folded text: (hidden: a piece is no word at all; flagged: both are words, "new man")."""
    words = tuple(sorted({fold(part) for part in parts if len(part) >= MIN_SPLIT and part.isalpha()}))
    if not words:
        return set(), set()
    hide, flag = set(), set()
    for m in _split_pattern(words).finditer(text):
        if re.match(r"[\w'’.-]", text[m.start() - 1 : m.start()]):
            continue  # inside a longer word
        pieces = m.group().split()
        (hide if any(no_word(piece) for piece in pieces) else flag).add(m.group())
    return hide, flag


@functools.lru_cache(maxsize=256)
def _split_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # The alternation comes first, so the regex skips to each word's first letter (the word before is checked after).
    return re.compile(rf"(?i:{'|'.join(_split_anywhere(word) for word in words)})(?![\w-])")


def _split_anywhere(word: str) -> str:
    """A regex for word with one split in it: "holt" as h(?: olt|o(?: lt|l t)), quick to fail at its first letter."""
    if len(word) == 2:
        return re.escape(word[0]) + _SPACE + re.escape(word[1])
    return f"{re.escape(word[0])}(?:{_SPACE}{re.escape(word[1:])}|{_split_anywhere(word[1:])})"


@dataclass(frozen=True)
class _Storyteller:
    """What redacting needs to know of the storyteller beyond the rules."""

    replacement: str
    hidden: tuple[str, ...]  # their name parts this level hides
    given: tuple[str, ...]  # given names and one-word aliases, as recorded
    joiners: frozenset[str]  # particles, kept names and initials, in lower case: "vanderberg", "margaretholt", "mholt"
    initials: tuple[str, ...]  # run together ("MH"): flagged, never hidden
    told_aloud: bool = False
    kept: str = ""  # the first name a first-name story keeps

    @classmethod
    def of(cls, names: Sequence[str], replacement: str, *, kept: Iterable[str] = (), told_aloud: bool = False) -> _Storyteller:
        kept = set(kept)
        recorded = [folding.readable(name) for name in names]
        parts = [part for name in recorded for part in _name_parts(name)]
        return cls(
            replacement=replacement,
            hidden=tuple(part for part in parts if part not in kept),
            given=tuple(dict.fromkeys(first for first in (read_name(name).first for name in recorded) if first)),
            joiners=frozenset(
                {p for name in recorded for p in read_name(name).particles}
                | {fold(word) for word in kept}
                | {fold(part)[0] for part in parts if fold(part)[:1].isalpha()}  # an initial before a name: "mholt"
            ),
            initials=tuple(run_together_initials(recorded)),
            told_aloud=told_aloud,
            kept=replacement if kept else "",
        )


def _finish(text: str, rules: Mapping[str, str], storyteller: _Storyteller | None = None) -> Redaction:
    """Apply rules (and, with the storyteller, what a transcript may have made of their name);
    `found` lists every name still in the text and every word that may still be the storyteller's."""
    folded = folding.fold(text)
    # Initials spelled apart ("M.A.B.") match only letters spelled apart, unless another variant is the same
    # letters run together: "kevin" decided on, and "k-e.v-i-n" too, match "uıʌǝʞ".
    spelled = {variant for variant in rules if _spelled_apart(variant)}
    apart = frozenset({folding.key(v) for v in spelled} - {folding.key(v) for v in rules if v not in spelled})
    rules = _folded_rules(rules)
    flagged: dict[str, str] = {}
    if storyteller and storyteller.told_aloud:
        misheard, flagged = sound_alike.heard_as_theirs(folded.text, storyteller.hidden, storyteller.given, rules)
        rules = {**rules, **dict.fromkeys(misheard, storyteller.replacement)}
        if storyteller.kept:  # "Margaret Grinstich" becomes "Margaret", not "Margaret Margaret"
            rules.update({folding.key(f"{storyteller.kept} {word}"): storyteller.replacement for word in misheard})
    if storyteller:
        hide, maybe = _split_parts(folded.text, storyteller.hidden)
        rules.update(dict.fromkeys(hide, storyteller.replacement))
        flagged.update(dict.fromkeys(maybe, SPLIT))
    joiners = set(storyteller.joiners) if storyteller else set()
    rules = {**rules, **_folded_rules(_joined_rules(folded.text, rules, joiners))}
    new_text, redacted, spans = _apply(folded, rules, apart)
    found: list[NameMention] = [m for m in find_names(new_text) if not any(m.start < e and s < m.end for s, e in spans)]
    if storyteller:
        flagged.update(dict.fromkeys(storyteller.initials, INITIALS))
    if flagged and _flag_pattern(tuple(flagged)).search(folded.text):
        found += _flagged(new_text, flagged, [*spans, *((m.start, m.end) for m in found)])
        found.sort(key=lambda m: m.start)
    return Redaction(new_text, redacted, found)


@functools.lru_cache(maxsize=256)
def _flag_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternation})(?='s\b|'?(?![\w']))")


def _flagged(text: str, flagged: Mapping[str, str], taken: Sequence[tuple[int, int]]) -> list[MaybeStoryteller]:
    folded = folding.fold(text)
    mentions = []
    for m in _flag_pattern(tuple(flagged)).finditer(folded.text):
        start, end = folded.span(m.start(), m.end())
        if not any(start < e and s < end for s, e in taken):
            mentions.append(MaybeStoryteller(folding.readable(text[start:end]), start, end, flagged[m.group()]))
    return mentions


def _other_rules(other_names: Mapping[str, str] | None) -> dict[str, str]:
    rules: dict[str, str] = {}
    for name, placeholder in (other_names or {}).items():
        # A phone number, address or e-mail is replaced exactly as found; only names have variants.
        for v in [name] if IDENTIFIER.fullmatch(name) else name_variants(name):
            rules.setdefault(v, placeholder)
    return rules


def redact(
    text: str,
    storyteller_names: list[str],
    *,
    replacement: str = STORYTELLER,
    other_names: Mapping[str, str] | None = None,
    sound_alike: bool = False,
) -> Redaction:
    """Replace every recognisable variant of the storyteller's names (first entry the full
    name, the rest aliases) with replacement, and each name in other_names with its
    placeholder. `found` lists the person names still in the text, for the reviewer."""
    if not replacement:
        raise RedactionError("a replacement is needed: a pseudonym or a placeholder")
    rules = _other_rules(other_names)
    if not storyteller_names:
        return _finish(text, rules)
    for v in name_variants(storyteller_names[0], storyteller_names[1:]):
        rules.pop(v, None)
        rules[v] = replacement  # last, so the storyteller wins a part shared with someone else
    return _finish(text, rules, _Storyteller.of(storyteller_names, replacement, told_aloud=sound_alike))


def first_name_only(
    text: str,
    full_name: str,
    aliases: Iterable[str] = (),
    *,
    other_names: Mapping[str, str] | None = None,
    sound_alike: bool = False,
) -> Redaction:
    """The "first name" identity level: every other part of the storyteller's names and
    their initials become the first name ("Maria Smith", "Mrs Smith", "M.S." -> "Maria")."""
    first = read_name(full_name).first
    if not first:
        raise RedactionError(f"no first name in {full_name!r}")
    keep = set(name_variants(first)) | {f"{first[0]}."}
    for alias in aliases:
        if read_name(alias).nickname:
            keep |= set(name_variants(alias))  # a nickname is first-name level
    rules = _other_rules(other_names)
    for v in name_variants(full_name, aliases):
        if v not in keep:
            rules[v] = first
    storyteller = _Storyteller.of([full_name, *aliases], first, kept=keep, told_aloud=sound_alike)
    return _finish(text, rules, storyteller)


def pseudonym_for(seed: bytes | str, avoid: Iterable[str] = ()) -> str:
    """A stable pseudonym from the storyteller's random secret seed (see new_seed), never
    from the name; avoid skips names it must not be (the storyteller's own)."""
    if not seed:
        raise RedactionError("a pseudonym needs the storyteller's secret seed")
    raw = seed.encode() if isinstance(seed, str) else seed
    names = _pseudonyms()
    banned = {fold(p) for a in avoid for p in _name_parts(a)}
    start = int.from_bytes(hashlib.sha256(b"storybank pseudonym\0" + raw).digest()[:8], "big")
    for step in range(len(names)):
        candidate = names[(start + step) % len(names)]
        if fold(candidate) not in banned:
            return candidate
    raise RedactionError("every pseudonym clashes with the names to avoid")


def new_seed() -> str:
    """A fresh random per-storyteller secret for pseudonym_for; store it with the storyteller."""
    return secrets.token_hex(16)


def redact_for_level(
    text: str,
    level: str,
    storyteller_names: list[str],
    *,
    seed: bytes | str | None = None,
    other_names: Mapping[str, str] | None = None,
    sound_alike: bool = False,
) -> Redaction:
    """Apply one identity level: named, first_name, pseudonym or anonymous. With sound_alike (a
    transcript), words that sound like a hidden name of the storyteller's are hidden or flagged too."""
    if level == NAMED:
        return _finish(text, _other_rules(other_names))
    if not storyteller_names:
        raise RedactionError(f"the {level!r} level needs the storyteller's recorded names")
    if level == FIRST_NAME:
        return first_name_only(
            text, storyteller_names[0], storyteller_names[1:], other_names=other_names, sound_alike=sound_alike
        )
    if level == PSEUDONYM:
        pseudonym = pseudonym_for(seed or b"", avoid=storyteller_names)
        return redact(text, storyteller_names, replacement=pseudonym, other_names=other_names, sound_alike=sound_alike)
    if level == ANONYMOUS:
        return redact(text, storyteller_names, replacement=STORYTELLER, other_names=other_names, sound_alike=sound_alike)
    raise RedactionError(f"unknown identity level {level!r}; expected one of {IDENTITY_LEVELS}")
