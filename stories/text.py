"""Text as Storybank keeps it, and offsets into it: one definition for the browser and the server.

Every text is cleaned as it enters (forms, import, transcripts): line breaks are LF, characters are
composed (NFC), and NUL is gone. That is exactly what a browser's HTML parser would make of it, so
the page's text is the stored text, character for character. An offset counts Unicode code points
(Python's `str` indexing; static/selection.js counts the same, never JavaScript's UTF-16 units).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

# A browser submits every line break of a form as CRLF; its HTML parser turns CRLF and a lone CR
# into LF and drops NUL from text. Stored with them, the page and the store would disagree.
_LINE_BREAK = re.compile(r"\r\n?")


def clean(value: str) -> str:
    """The text as it is stored: LF line breaks, NFC, no NUL (not stripped)."""
    if "\r" in value:
        value = _LINE_BREAK.sub("\n", value)
    if "\0" in value:
        value = value.replace("\0", "")
    return value if value.isascii() else unicodedata.normalize("NFC", value)


@dataclasses.dataclass(frozen=True)
class Cleaned:
    """Text cleaned as `clean` does it, with the way back: where each old offset stands in the new text."""

    text: str
    # (old start, old end, new start, new end) of each stretch that changed, in order.
    changes: tuple[tuple[int, int, int, int], ...]

    def offset(self, old: int, *, end: bool = False) -> int:
        """Where the old offset stands now; inside a changed stretch, at its start (or its end, for a span's end)."""
        shift = 0
        for old_start, old_end, new_start, new_end in self.changes:
            if old <= old_start:
                break
            if old < old_end:
                return new_end if end else new_start
            shift = new_end - old_end
        return old + shift

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.offset(start), self.offset(end, end=True)


def clean_with_offsets(value: str) -> Cleaned:
    """`clean(value)` with its offset map, for moving spans stored against text cleaned later (a migration)."""
    cleaned = clean(value)
    if cleaned == value:
        return Cleaned(value, ())
    changes, pieces, new_length, at = [], [], 0, 0
    for old in _stable_pieces(value):
        new = clean(old)
        if new != old:
            changes.append((at, at + len(old), new_length, new_length + len(new)))
        pieces.append(new)
        at, new_length = at + len(old), new_length + len(new)
    if "".join(pieces) != cleaned:  # composition across pieces this split did not foresee: one change, whole
        return Cleaned(cleaned, ((0, len(value), 0, len(cleaned)),))
    return Cleaned(cleaned, tuple(changes))


def _stable_pieces(value: str) -> list[str]:
    """The text cut where cleaning each piece alone gives the same as cleaning them together.

    A piece is a character with the combining marks after it (or a CRLF), joined to the next one
    whenever cleaning them together differs (a letter and a mark composed, Hangul jamo).
    """
    units: list[str] = []
    index = 0
    while index < len(value):
        if value.startswith("\r\n", index):
            units.append("\r\n")
            index += 2
            continue
        stop = index + 1
        while stop < len(value) and unicodedata.combining(value[stop]):
            stop += 1
        units.append(value[index:stop])
        index = stop
    pieces: list[str] = []
    for unit in units:
        if pieces and clean(pieces[-1] + unit) != clean(pieces[-1]) + clean(unit):
            pieces[-1] += unit
        else:
            pieces.append(unit)
    return pieces


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
