"""Redact a story to the storyteller's identity level: their names in every variant, others' as placeholders."""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import re
import secrets
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import click

from pipelines import sound_alike
from pipelines.names import (
    CONTACT,
    IDENTIFIER,
    PARTICLES,
    NameMention,
    find_names,
    fold,
    lexicon,
    read_list,
    sentence_initial,
    strip_accents,
)

IDENTITY_LEVELS = ("named", "first_name", "pseudonym", "anonymous")
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

# Formal titles swallowed with a redacted name ("Mrs Smith" becomes one placeholder); kin
# words are not ("my sister Maria" keeps "my sister"), nor "miss" in lower case ("I miss").
_TITLES = "mr mrs ms mx dr prof professor rev revd reverend cllr councillor sgt sergeant imam"
_TITLE_WORDS = frozenset(_TITLES.split()) | {"miss", "mister", "missus", "doctor", "nurse", "sir", "dame", "lord", "lady"}
_HONORIFIC_PREFIX = (
    r"(?:(?:(?i:" + "|".join(sorted(_TITLES.split(), key=len, reverse=True)) + r")"
    r"|Miss|MISS|Doctor|Nurse|Sir|Dame|Lord|Lady)\.?\s+)?"
)


def _name_parts(name: str) -> list[str]:
    """The words of a recorded name without its title or lower-case particles."""
    return [p for p in name.split() if p.rstrip(".").lower() not in _TITLE_WORDS and not (p.islower() and p in PARTICLES)]


def _case_forms(word: str, allow_lower: bool) -> list[str]:
    forms = [word, word.upper(), word.title() if "'" not in word else word]
    if allow_lower:
        forms.append(word.lower())
    return forms


def _initials(parts: list[str]) -> list[str]:
    letters = [p[0].upper() for p in parts if p[0].isalpha()]
    if len(letters) < 2:
        return [f"{letters[0]}."] if letters else []
    joined = [".".join(letters) + ".", ". ".join(letters) + ".", " ".join(letters)]
    return [*joined, f"{letters[0]}."]


def name_variants(name: str, aliases: Iterable[str] = ()) -> list[str]:
    """Every written form of a person's names that a reader would recognise, longest first:
    the full name and each part, in title, upper and lower case, hyphen and apostrophe
    pieces, spellings without the apostrophe, and initials ("M.S.", "M. Smith", "Maria S.").
    Lower-case forms of everyday words (Will, Grace) are left out: "will" is not a name."""
    common = lexicon().common
    variants: list[str] = []
    for full in [name, *aliases]:
        full = " ".join(full.replace("’", "'").split())
        parts = _name_parts(full)
        if not parts:
            continue
        plain = " ".join(parts)
        variants += _case_forms(full, True) + _case_forms(plain, True)
        pieces: list[str] = []
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
        variants += _initials(parts)
    variants += [v.replace("'", "’") for v in variants if "'" in v]
    variants += [strip_accents(v) for v in variants if not v.isascii()]
    seen: dict[str, None] = {}
    for v in sorted(variants, key=len, reverse=True):
        seen.setdefault(v.strip(), None)
    return [v for v in seen if v]


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
_SPELLING_GAP = r"[ .,-]{1,3}"  # "H-O-L-T", "H O L T", "H.O.L.T", "H. O. L. T"
MIN_SPELLED = 3  # "J O" is too likely to be something else


def _spelled(word: str) -> str:
    """A regex for a name spelled out letter by letter, in any case."""
    return "(?i:" + _SPELLING_GAP.join(re.escape(letter) for letter in word) + ")"


def _pattern(variants: Iterable[str], any_case: set[str], spelled: Iterable[str]) -> re.Pattern[str]:
    """One regex for all variants, longest first; those in any_case match in any case
    ("Maria SMITH"), the rest (everyday words, initials) only as written."""
    alternation = "|".join(
        [_spelled(word) for word in spelled]
        + [f"(?i:{re.escape(v)})" if v in any_case else re.escape(v) for v in sorted(set(variants), key=len, reverse=True)]
    )
    return re.compile(rf"(?<![\w'’.-]){_HONORIFIC_PREFIX}{_COMPOUND_HEAD}(?P<name>{alternation}){_COMPOUND_TAIL}(?![\w-])")


# --- matching on folded text --------------------------------------------------------------

_FOLDED_CHARS = {"ß": "ss", "ẞ": "SS", "ı": "i", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D"}


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    """One character as matching sees it: compatibility forms and accents gone, case kept
    ("Ｈ" -> "H", "ö" -> "o", "ﬁ" -> "fi"); a lone combining mark becomes nothing."""
    if char in _FOLDED_CHARS:
        return _FOLDED_CHARS[char]
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class _Origin:
    """Where each character of a folded text came from in the original. Only characters whose
    folded form is not exactly one character long are listed; between them the two texts run in step."""

    marks: tuple[tuple[int, int, int], ...]  # (folded start, original index, folded length)
    starts: tuple[int, ...]

    def __call__(self, folded_index: int) -> int:
        i = bisect.bisect_right(self.starts, folded_index) - 1
        if i < 0:
            return folded_index
        folded_start, original, length = self.marks[i]
        if folded_index < folded_start + length:
            return original
        return original + 1 + folded_index - folded_start - length


def fold_for_matching(text: str) -> tuple[str, _Origin | None]:
    """Text folded for matching (see _fold_char), and where each folded character came from in
    the original (None when nothing changed: plain ASCII, the common case)."""
    if text.isascii():
        return text, None
    pieces, marks, pos, shift = [], [], 0, 0
    for m in _NON_ASCII.finditer(text):
        folded = _fold_char(m.group())
        pieces += [text[pos : m.start()], folded]
        if len(folded) != 1:
            marks.append((m.start() + shift, m.start(), len(folded)))
            shift += len(folded) - 1
        pos = m.end()
    pieces.append(text[pos:])
    folded_text = "".join(pieces)
    if folded_text == text:
        return text, None
    return folded_text, _Origin(tuple(marks), tuple(mark[0] for mark in marks))


def _fold_text(text: str) -> str:
    return fold_for_matching(text)[0]


def _original_span(text: str, origin: _Origin, start: int, end: int) -> tuple[int, int]:
    """A span of the folded text as a span of the original (NFKC may change lengths)."""
    original_start = origin(start)
    original_end = origin(end - 1) + 1 if end > start else original_start
    while original_end < len(text) and not _fold_char(text[original_end]):
        original_end += 1  # a combining accent belongs to the letter before it
    return original_start, original_end


def _apply(text: str, rules: Mapping[str, str]) -> tuple[str, list[dict], list[tuple[int, int]]]:
    """Replace every variant in rules (variant -> replacement) and say what was replaced,
    with the spans of the replacements in the new text.

    Matching runs on folded text ("Hölt", "Ｈｏｌｔ" meet "Holt"); replacing runs on the
    original, so everything around a name stays exactly as written."""
    if not rules:
        return text, [], []
    folded_rules: dict[str, str] = {}
    for variant, replacement in rules.items():  # later rules win: the storyteller's come last
        folded_rules[_fold_text(variant)] = replacement
    folded, origin = fold_for_matching(text)
    new_folded, redacted, spans = _apply_folded(folded, folded_rules)
    if origin is None:
        return new_folded, redacted, spans
    out: list[str] = []
    mapped: list[dict] = []
    pos = length = 0
    for item in redacted:
        start, end = _original_span(text, origin, item["start"], item["end"])
        written = new_folded[item["new_start"] : item["new_end"]]
        out += [text[pos:start], written]
        new_start = length + start - pos
        length = new_start + len(written)
        mapped.append({**item, "name": text[start:end], "start": start, "end": end, "new_start": new_start, "new_end": length})
        pos = end
    out.append(text[pos:])
    return "".join(out), mapped, [(item["new_start"], item["new_end"]) for item in mapped]


def _apply_folded(text: str, rules: Mapping[str, str]) -> tuple[str, list[dict], list[tuple[int, int]]]:
    # A variant whose lower-case form is listed too is a name in any case.
    any_case = {v for v in rules if v.lower() in rules and v.lower() != v.upper()}
    by_fold = {v.casefold(): v for v in any_case}
    bare_s = {v + "s": v for v in rules if v[-1:].isalpha() and v[-1] not in "sS"}
    # Any single word of a name, spelled out letter by letter ("H-O-L-T"), is that name.
    spelled = {v.casefold(): v for v in rules if v.isalpha() and len(v) >= MIN_SPELLED and v.casefold() in by_fold}
    pattern = _pattern([*rules, *bare_s], any_case | {v + "s" for v in any_case}, sorted(spelled, key=len, reverse=True))
    out: list[str] = []
    redacted: list[dict] = []
    spans: list[tuple[int, int]] = []
    pos = length = 0
    for m in pattern.finditer(text):
        variant = m.group("name")
        suffix = _possessive_suffix(text, m.end())
        letters = "".join(c for c in variant if c.isalpha()).casefold()
        if variant not in rules and variant.casefold() in by_fold:
            variant = by_fold[variant.casefold()]
        elif variant not in rules and letters in spelled and len(letters) < len(variant):
            variant = spelled[letters]  # spelled out
        elif variant not in rules:  # "Marias" is "Maria" + s
            variant, suffix = bare_s.get(variant) or by_fold[variant[:-1].casefold()], -1
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


def _contact_rules(text: str, rules: Mapping[str, str]) -> dict[str, str]:
    """Whole e-mail addresses and handles holding a redacted name: "maria.smith@x.org"."""
    words = {v.casefold(): r for v, r in rules.items() if len(v) > 2 and v.isalpha()}
    found: dict[str, str] = {}
    for m in CONTACT.finditer(text):
        contact = m.group().casefold()
        replacement = next((r for w, r in words.items() if w in contact), None)
        if replacement:
            found[m.group()] = replacement
    return found


@dataclass(frozen=True)
class SoundAlike(NameMention):
    """A word that sounds a little like one of the storyteller's names: flagged for a reviewer, not replaced."""


def _finish(text: str, rules: Mapping[str, str], hidden: Sequence[str] = (), kept: str = "") -> Redaction:
    """Apply rules; with `hidden` (the storyteller's name parts a story told aloud must hide),
    words that sound like them are replaced too, or flagged where less sure. `kept` is the
    first name a first-name story keeps: "Margaret Grinstich" becomes "Margaret", not "Margaret Margaret"."""
    flagged: set[str] = set()
    if hidden:
        misheard, flagged = _sound_alikes(text, hidden, rules)
        rules = {**rules, **misheard, **{f"{kept} {word}": r for word, r in misheard.items() if kept}}
    if "@" in text:
        rules = {**rules, **_contact_rules(text, rules)}
    new_text, redacted, spans = _apply(text, rules)
    found = [m for m in find_names(new_text) if not any(m.start < e and s < m.end for s, e in spans)]
    if flagged:
        taken = [(m.start, m.end) for m in found]
        for m in _WORD.finditer(new_text):
            if m.group() in flagged and not any(m.start() < e and s < m.end() for s, e in taken):
                found.append(SoundAlike(m.group(), m.start(), m.end()))
        found.sort(key=lambda m: m.start)
    return Redaction(new_text, redacted, found)


_WORD = re.compile(r"(?<![\w'’])[^\W\d_][\w'’]*?(?=['’]s\b|['’]?(?![\w'’]))")


def _sound_alikes(text: str, hidden: Sequence[str], rules: Mapping[str, str]) -> tuple[dict[str, str], set[str]]:
    """Capitalised words (or hyphen pieces) that sound like a hidden name part: ({word: its replacement}, {flagged words})."""
    common = lexicon().common
    parts = {part: rules[part] for part in hidden if part in rules}
    misheard: dict[str, str] = {}
    flagged: set[str] = set()
    for m in _WORD.finditer(text):
        for word in m.group().split("-"):
            if not word[:1].isupper() or word in rules or word in misheard:
                continue
            everyday = word.lower() in common
            if everyday and sentence_initial(text, m.start()):
                continue  # "Hold on" opening a sentence is the word, not "Holt"
            for part, replacement in parts.items():
                verdict = sound_alike.likeness(word, part)
                if verdict == sound_alike.SAME and not everyday:
                    misheard[word] = replacement
                    break
                if verdict is not None:
                    flagged.add(word)
    return misheard, flagged - set(misheard)


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
    if storyteller_names:
        for v in name_variants(storyteller_names[0], storyteller_names[1:]):
            rules.pop(v, None)
            rules[v] = replacement  # last, so the storyteller wins a part shared with someone else
    hidden = [p for name in storyteller_names for p in _name_parts(name)] if sound_alike else []
    return _finish(text, rules, hidden)


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
    parts = _name_parts(full_name)
    if not parts:
        raise RedactionError(f"no first name in {full_name!r}")
    first = parts[0]
    keep = set(name_variants(first)) | {f"{first[0]}."}
    for alias in aliases:
        alias_parts = _name_parts(alias)
        if len(alias_parts) == 1:
            keep |= set(name_variants(alias_parts[0]))  # a nickname is first-name level
    rules = _other_rules(other_names)
    for v in name_variants(full_name, aliases):
        if v not in keep:
            rules[v] = first
    hidden = [p for name in [full_name, *aliases] for p in _name_parts(name) if p not in keep] if sound_alike else []
    return _finish(text, rules, hidden, kept=first)


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
    if level == "named":
        return _finish(text, _other_rules(other_names))
    if not storyteller_names:
        raise RedactionError(f"the {level!r} level needs the storyteller's recorded names")
    if level == "first_name":
        return first_name_only(
            text, storyteller_names[0], storyteller_names[1:], other_names=other_names, sound_alike=sound_alike
        )
    if level == "pseudonym":
        pseudonym = pseudonym_for(seed or b"", avoid=storyteller_names)
        return redact(text, storyteller_names, replacement=pseudonym, other_names=other_names, sound_alike=sound_alike)
    if level == "anonymous":
        return redact(text, storyteller_names, replacement=STORYTELLER, other_names=other_names, sound_alike=sound_alike)
    raise RedactionError(f"unknown identity level {level!r}; expected one of {IDENTITY_LEVELS}")


# --- command line -------------------------------------------------------------------------


@click.command("redact")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--name", "names", multiple=True, help="The storyteller's full name first, then any aliases; repeatable.")
@click.option(
    "--replacement",
    default=STORYTELLER,
    show_default=True,
    help="What the storyteller's name becomes: a pseudonym or a placeholder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print text, redacted and found as JSON.")
def redact_command(file, names: tuple[str, ...], replacement: str, as_json: bool) -> None:
    """Redact the storyteller's names from a story and list the other names found.

    The text goes to standard output; without --json the names left for the reviewer
    go to standard error.

    Example: storybank redact story.txt --name "Maria Smith" --name Mimi --json
    """
    try:
        result = redact(file.read(), list(names), replacement=replacement)
    except RedactionError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(result.text, nl=not result.text.endswith("\n"))
    for m in result.found:
        click.echo(f"found: {m.name} ({m.start}-{m.end})", err=True)


if __name__ == "__main__":
    redact_command(sys.argv[1:])
