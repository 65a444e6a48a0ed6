"""Text as Storybank keeps it, and offsets into it: one definition for the browser and the server.

Every text is cleaned as it enters (forms, import, transcripts): line breaks are LF, characters are
composed (NFC), and NUL is gone. That is exactly what a browser's HTML parser would make of it, so
the page's text is the stored text, character for character. Line breaks of the kinds a browser does
not draw as one (vertical tab, form feed, NEL, U+2028 and U+2029: Unicode's mandatory breaks, which
Word, PDF tools and phones write) are stored as the LF the writer meant: a browser drew them as a
box or as nothing, so a name could hide across one ("Ho\u2028lt" shows "Holt"). An offset counts Unicode code points
(Python's `str` indexing; static/selection.js counts the same, never JavaScript's UTF-16 units).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

# A browser submits every line break of a form as CRLF; its HTML parser turns CRLF and a lone CR
# into LF and drops NUL from text. Stored with them, the page and the store would disagree.
_LINE_BREAK = re.compile(r"\r\n?")
# One character for one, so no offset moves.
_OTHER_BREAKS = re.compile("[\v\f\x85\u2028\u2029]")
_AS_LF = str.maketrans(dict.fromkeys("\v\f\x85\u2028\u2029", "\n"))


def clean(value: str) -> str:
    """The text as it is stored: LF line breaks, NFC, no NUL (not stripped)."""
    if "\r" in value:
        value = _LINE_BREAK.sub("\n", value)
    if "\0" in value:
        value = value.replace("\0", "")
    if _OTHER_BREAKS.search(value):
        value = value.translate(_AS_LF)
    return value if value.isascii() else unicodedata.normalize("NFC", value)


Change = tuple[int, int, int, int]  # (old start, old end, new start, new end) of a stretch that changed


@dataclasses.dataclass(frozen=True)
class Cleaned:
    """Text cleaned as `clean` does it, with the way back: where each old offset stands in the new text."""

    text: str
    shown: str  # the old text as an HTML page showed it: line breaks as LF, no NUL, nothing composed
    stages: tuple[tuple[Change, ...], ...]  # the changes of each step of cleaning, in order

    def offset(self, old: int, *, end: bool = False) -> int:
        """Where the old offset stands now; inside a changed stretch, at its start (or its end, for a span's end)."""
        for changes in self.stages:
            old = _moved(changes, old, end)
        return old

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.offset(start), self.offset(end, end=True)

    def span_from_page(self, start: int, end: int) -> tuple[int, int]:
        """Where a span a page reported before offsets were defined once (UTF-16 units of `shown`) stands now."""
        points = [_code_points(self.shown, start), _code_points(self.shown, end)]
        for changes in self.stages[1:]:
            points = [_moved(changes, points[0], False), _moved(changes, points[1], True)]
        return points[0], points[1]


def clean_with_offsets(value: str) -> Cleaned:
    """`clean(value)` with its offset map, for moving spans stored against text cleaned later (a migration)."""
    breaks: list[Change] = []
    pieces, at, length = [], 0, 0
    for found in re.finditer(r"\r\n?|\0", value):
        new = "" if found[0] == "\0" else "\n"
        pieces.append(value[at : found.start()])
        length += found.start() - at
        breaks.append((found.start(), found.end(), length, length + len(new)))
        pieces.append(new)
        at, length = found.end(), length + len(new)
    pieces.append(value[at:])
    text = "".join(pieces).translate(_AS_LF)
    composed = text if text.isascii() else unicodedata.normalize("NFC", text)
    stages = (tuple(breaks), _composed_changes(text, composed) if composed != text else ())
    return Cleaned(composed, text, stages)


def _moved(changes: tuple[Change, ...], old: int, end: bool) -> int:
    shift = 0
    for old_start, old_end, new_start, new_end in changes:
        if old <= old_start:
            break
        if old < old_end:
            return new_end if end else new_start
        shift = new_end - old_end
    return old + shift


def _composed_changes(text: str, composed: str) -> tuple[Change, ...]:
    """Where NFC changed the text: each character with its combining marks, joined while they compose together."""
    units: list[str] = []
    for char in text:
        if units and unicodedata.combining(char):
            units[-1] += char
        else:
            units.append(char)
    pieces: list[str] = []
    for unit in units:
        # An ASCII character never composes with what precedes it; anything else may (Hangul jamo, Indic vowels).
        if pieces and not unit.isascii() and _nfc(pieces[-1] + unit) != _nfc(pieces[-1]) + _nfc(unit):
            pieces[-1] += unit
        else:
            pieces.append(unit)
    changes, at, length = [], 0, 0
    for piece in pieces:
        new = _nfc(piece)
        if new != piece:
            changes.append((at, at + len(piece), length, length + len(new)))
        at, length = at + len(piece), length + len(new)
    if length != len(composed) or "".join(_nfc(piece) for piece in pieces) != composed:
        return ((0, len(text), 0, len(composed)),)  # a composition this split did not foresee: one change, whole
    return tuple(changes)


def _code_points(text: str, utf16: int) -> int:
    """How many characters of `text` its first `utf16` UTF-16 units hold (a character past U+FFFF takes two)."""
    units = 0
    for index, char in enumerate(text):
        if units >= utf16:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def find_words(text: str, words: str, near: int | None = None) -> tuple[int, int] | None:
    """Where these words stand in the text, however the whitespace between them was copied; None if nowhere.

    Of several places, the one nearest `near` (where the person selected them), else the first.
    """
    wanted = clean(words).split()
    if not wanted:
        return None
    pattern = re.compile(r"\s+".join(re.escape(word) for word in wanted))
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    match = min(matches, key=lambda m: abs(m.start() - near) if near is not None else m.start())
    return match.start(), match.end()


def selected_span(text: str, start: int | None, end: int | None, selected: str) -> tuple[int, int] | None:
    """The span a person selected in the page: the offsets the page sent, checked against the words it saw.

    Offsets that hold the selected words are used as they are (trimmed of surrounding whitespace);
    otherwise the words are looked for near them (the story changed since the page was loaded).
    Without the words (a client that sends only offsets), the offsets are all there is.
    """
    if not selected.strip():
        if start is None or end is None or not 0 <= start < end <= len(text):
            return None
        return _trimmed(text, start, end)
    selected = clean(selected)
    if start is not None and end is not None and 0 <= start < end <= len(text) and text[start:end] == selected:
        return _trimmed(text, start, end)
    return find_words(text, selected, start)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    start, end = start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())
    return (start, end) if start < end else None


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs: split at blank lines, each kept with its own line breaks."""
    return [part.strip() for part in re.split(r"\n[^\S\n]*\n", text) if part.strip()]
