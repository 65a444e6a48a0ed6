"""Text as name matching sees it: one folding for the finder and the redactor, with offsets back to the original.

A name can be written so that it looks the same on screen and differs underneath: an invisible
character inside it ("Ho\u200blt"), a Cyrillic or Greek letter that looks Latin ("Ноlt"), a
full-width or mathematical form ("Ｈｏｌｔ"), an accent, an apostrophe look-alike ("Oʼ Neill"), a tab
between spelled-out letters, a line broken at a hyphen ("Ho-" / "lt"). `fold` undoes all of these at
once, so whatever finds names and whatever replaces them read the same letters; `Folded.span` maps
a match back to the original, which is never rewritten except where a name is replaced.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters drawn like Latin ones, from Unicode's confusables data (UTS #39,
# confusables.txt, type MA): only single letters whose prototype is one Latin letter.
_CONFUSABLES = dict(
    pair.split(":")
    for pair in (
        "А:A В:B Е:E К:K М:M Н:H О:O Р:P С:C Т:T У:Y Х:X Ѕ:S І:I Ј:J Ү:Y Ԁ:D Ԍ:G Ԛ:Q Ԝ:W Ӏ:l Ѵ:V "
        "а:a е:e о:o р:p с:c у:y х:x ѕ:s і:i ј:j ԁ:d ԛ:q ԝ:w һ:h ӏ:i ү:y ѵ:v ҽ:e "
        "Α:A Β:B Ε:E Ζ:Z Η:H Ι:I Κ:K Μ:M Ν:N Ο:O Ρ:P Τ:T Υ:Y Χ:X α:a γ:y ι:i ν:v ο:o ρ:p"
    ).split()
)
# Letters with no decomposition that people write for plain ones.
_LETTERS = {"ß": "ss", "ẞ": "SS", "ı": "i", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ɡ": "g"}
# Apostrophe look-alikes (the modifier letter "ʼ" in "Oʼ Neill", curly quotes, primes, accents).
_APOSTROPHES = dict.fromkeys("’‘‛ʼʻʹʽˈ′´`＇ꞌ", "'")
_HYPHENS = dict.fromkeys("\u2010\u2011\u2212\ufe63\uff0d", "-")
# Zero-width and other format characters draw nothing, so a name with one inside looks unchanged.
_INVISIBLE = frozenset("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u3164\uffa0")

# After the characters are folded: a tab (and the spaces after it) is one space, as every other
# kind of space already is; a word broken over two
# lines at a hyphen is one word again ("Ho-" / "lt"), a compound broken at its hyphen keeps it.
# Each branch starts with a rare character, so the regex skips ordinary text quickly.
_SPACING = re.compile(r"[\t\v\f][ \t\v\f]*|-(?<=[^\W\d_]-)[ \t]*\r?\n[ \t]*(?=[^\W\d_])")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NOT_PLAIN = re.compile(r"[\t\v\f]|-[ \t]*\r?\n")


def _plain(text: str) -> bool:
    return text.isascii() and not _NOT_PLAIN.search(text)


@functools.lru_cache(maxsize=8192)
def fold_char(char: str) -> str:
    """One character as matching sees it: Latin letters without accents, case kept; invisible ones vanish."""
    if char in _CONFUSABLES:
        return _CONFUSABLES[char]
    for table in (_LETTERS, _APOSTROPHES, _HYPHENS):
        if char in table:
            return table[char]
    if char in _INVISIBLE or unicodedata.category(char) == "Cf":
        return ""
    if char.isspace():
        return char if char in "\n\r" else " "
    decomposed = unicodedata.normalize("NFKD", char)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(_CONFUSABLES.get(c, _APOSTROPHES.get(c, c)) for c in folded)


@dataclass(frozen=True)
class _Map:
    """Offsets of a rewritten text back to the text it was made from. Only rewritten pieces are
    listed; between them the two texts run in step."""

    marks: tuple[tuple[int, int, int, int], ...]  # (new start, old start, new length, old length)
    starts: tuple[int, ...]

    def start(self, index: int) -> int:
        """Where the character at index came from (a rewritten piece: where the piece began)."""
        i = bisect.bisect_right(self.starts, index) - 1
        if i < 0:
            return index
        new, old, new_length, old_length = self.marks[i]
        if index < new + new_length:
            return old
        return old + old_length + index - new - new_length

    def end(self, index: int) -> int:
        """Where a span ending at index ends in the old text (a rewritten piece: where it ended)."""
        if index <= 0:
            return 0
        last = index - 1
        i = bisect.bisect_right(self.starts, last) - 1
        if i < 0:
            return index
        new, old, new_length, old_length = self.marks[i]
        if last < new + new_length:
            return old + old_length
        return old + old_length + last - new - new_length + 1


def _rewrite(text: str, pieces: list[tuple[int, int, str]]) -> tuple[str, _Map]:
    """text with each (start, end, replacement) applied, in order and not overlapping."""
    out, marks, pos, shift = [], [], 0, 0
    for start, end, replacement in pieces:
        out += [text[pos:start], replacement]
        if len(replacement) != end - start:  # one letter for another keeps every offset
            marks.append((start + shift, start, len(replacement), end - start))
            shift += len(replacement) - (end - start)
        pos = end
    out.append(text[pos:])
    return "".join(out), _Map(tuple(marks), tuple(mark[0] for mark in marks))


def _spacing(match: re.Match[str]) -> str:
    piece = match.group()
    if piece.startswith("-"):
        after = match.string[match.end() : match.end() + 1]
        return "" if after.islower() else "-"
    return " "


@dataclass(frozen=True)
class Folded:
    """A text folded for matching, and how to find the original of any span of it."""

    original: str
    text: str
    maps: tuple[_Map, ...] = ()  # newest first: folded text -> ... -> original

    @property
    def unchanged(self) -> bool:
        """Nothing was folded: offsets and words are the original's."""
        return self.text is self.original

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original text's span for a span of the folded text (whole pieces, trailing invisibles included)."""
        if not self.maps:
            start_end = start, end
        else:
            start_end = self._through_maps(start, end)
        original_start, original_end = start_end
        while original_end < len(self.original) and not fold_char(self.original[original_end]):
            original_end += 1  # a combining accent or a format character belongs to the letter before it
        return original_start, original_end

    def _through_maps(self, start: int, end: int) -> tuple[int, int]:
        for step in self.maps:
            start, end = step.start(start), step.end(end) if end > start else step.start(start)
        return start, end


def fold(text: str) -> Folded:
    """text as the finder and the redactor match it (see the module docstring)."""
    if _plain(text):
        return Folded(text, text)  # plain ASCII: the common case, nothing to do
    maps: list[_Map] = []
    folded = text
    pieces = [(m.start(), m.end(), fold_char(m.group())) for m in _NON_ASCII.finditer(text)]
    pieces = [piece for piece in pieces if piece[2] != text[piece[0]]]
    if pieces:
        folded, step = _rewrite(text, pieces)
        if step.marks:
            maps.insert(0, step)
    pieces = [(m.start(), m.end(), _spacing(m)) for m in _SPACING.finditer(folded)]
    pieces = [piece for piece in pieces if folded[piece[0] : piece[1]] != piece[2]]
    if pieces:
        folded, step = _rewrite(folded, pieces)
        if step.marks:
            maps.insert(0, step)
    return Folded(text, folded, tuple(maps))


def readable(text: str) -> str:
    """A name as a reviewer should read it: the letters on screen, with nothing hidden among them.
    Accents and letters such as "ß" stay; invisible characters, look-alike letters, full-width and mathematical
    forms, odd apostrophes and spacing become what they look like."""
    if _plain(text):
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif char in _CONFUSABLES or char in _APOSTROPHES or char in _HYPHENS:
            out.append(fold_char(char))
        elif char in _INVISIBLE or unicodedata.category(char) == "Cf":
            continue
        else:
            out.append(unicodedata.normalize("NFKC", char))
    return _SPACING.sub(_spacing, unicodedata.normalize("NFC", "".join(out)))


@functools.lru_cache(maxsize=65536)
def key(name: str) -> str:
    """What two spellings of one name have in common: "Ｋｙｌｅ", "K\u200byle" and "Kyle" share "Kyle"."""
    return fold(name).text
