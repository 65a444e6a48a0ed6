"""Text as name matching sees it: one folding for the finder and the redactor, with offsets back to the original.

A name can be written so that it looks the same on screen and differs underneath: an invisible
character inside it ("Ho\u200blt", a variation selector, a line separator a browser draws as nothing),
a letter of another alphabet or a styled letter drawn like a Latin one ("Ноlt", "ʜᴏʟᴛ", "🅗🅞🅛🅣"), a
full-width or mathematical form ("Ｈｏｌｔ"), an accent, an apostrophe look-alike ("Oʼ Neill"), letters
reversed under a right-to-left override, spelled out with any separators ("H–O–L–T", "H/O/L/T", "H-O.L-T"), a dot
inside it ("H·olt"), a line broken at a hyphen ("Ho-" / "lt"), letters turned upside down ("ʇloɥ"),
invisible tag characters spelling letters, Markdown emphasis inside a word ("K**e**vin"). `fold` undoes all of these at once, so
whatever finds names and whatever replaces them read the same letters; `Folded.span` maps a match
back to the original, which is never rewritten except where a name is replaced.

Look-alike letters come from Unicode's own data: the confusables of UTS #39 (stories/data/confusables.txt,
as Unicode publishes it) give each character's prototype, read back as the Latin letter with that
prototype; styled Latin letters with no such entry ("LATIN LETTER SMALL CAPITAL H", "NEGATIVE CIRCLED
LATIN CAPITAL LETTER H") are read from their Unicode names.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

from stories.wordlists import DATA

# Text written upside down ("ʇloɥ" is "Holt" turned half a circle) is read in reverse, each letter as the one
# it is drawn from: Unicode's turned Latin letters by their names ("LATIN SMALL LETTER TURNED H"), the
# letters that stay letters when turned (u and n, d and p, b and q, M and W swap), and the few that
# upside-down writing borrows (dotless i for i, b with a topbar for g). Only a word holding a turned
# letter is read so: "Yıldız", with no turned letter, is Turkish.
_TURNED_NAME = re.compile(
    r"^LATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL )?TURNED ([A-Z])$|^TURNED (?:CAPITAL|SMALL) ([A-Z])$"
)
_TURNED_BLOCKS = ((0x180, 0x2B0), (0x1D00, 0x1DC0), (0x2100, 0x2150), (0x2C60, 0x2C80), (0xA720, 0xA800), (0x1DF00, 0x1E000))
_UPSIDE_DOWN_READINGS = {"u": "n", "n": "u", "d": "p", "p": "d", "b": "q", "q": "b", "M": "W", "W": "M"}
_UPSIDE_DOWN_BORROWED = {"ı": "i", "ƃ": "g", "ɟ": "f", "ɾ": "j", "ɔ": "c", "ſ": "J"}
# Letters with no decomposition and no look-alike that people write for plain ones (German orthography).
_LETTERS = {"ß": "ss", "ẞ": "SS"}
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) beyond the format characters
# (category Cf): variation selectors, fillers, the combining grapheme joiner. They draw nothing.
_IGNORABLE = re.compile("[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]")
# A right-to-left override draws the letters after it in reverse until a pop, an isolate's end or the
# line's end ("\u202etloH\u202c" is drawn "Holt"); a line or paragraph separator inside a word is drawn
# as nothing by a browser ("H\u2028olt" shows "Holt"), elsewhere it breaks the line. Each starts with a
# character plain text never holds, so ordinary text costs nothing here.
# Unicode's tag characters (U+E0020-E007E) draw nothing but encode ASCII: after a black flag they name the
# flag's region ("🏴" + "gbeng" + cancel tag is England's flag; a UK nation is "gb" and three letters),
# anywhere else, and after a flag in any other shape ("🏴" + "holt"), they spell hidden letters.
_DRAWN = re.compile(
    "\u202e[^\u202c\u2069\n]*\u202c?|(?<=[^\\W\\d_])[\u2028\u2029](?=[^\\W\\d_])"
    "|\U0001f3f4\U000e0067\U000e0062[\U000e0061-\U000e007a]{3}\U000e007f|[\U000e0020-\U000e007e]+"
)
_TAG_OFFSET = 0xE0000
_TAGS = frozenset(map(chr, range(0xE0020, 0xE007F)))
_STYLED_LETTER = re.compile(
    r"(?:^|\s)(?:LATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL |SCRIPT )?|REGIONAL INDICATOR SYMBOL LETTER )([A-Z])$"
)
# Unicode's NamesList: the small palochka "usually has the same glyph as" the capital, which UTS #39
# reads as "l"; its own entry goes by way of the dotless i.
_DRAWN_AS_CAPITAL = frozenset("\u04cf")

# After the characters are folded: a tab (and the spaces after it) is one space, as every other
# kind of space already is; a vertical tab or form feed is the line break stories.text.clean makes of it;
# a word broken over two lines at a hyphen is one word again ("Ho-" / "lt"), a compound broken at its
# hyphen keeps it. Each branch starts with a rare character, so the regex skips ordinary text quickly.
_SPACING = re.compile(r"\t[ \t]*|[\v\f]|-(?<=[^\W\d_]-)[ \t]*\r?\n[ \t]*(?=[^\W\d_])")
# Line breaks of other kinds (Unicode's mandatory breaks), read as the LF stories.text.clean stores for them.
LINE_BREAKS = "\n\r\v\f\x85\u2028\u2029"
# A dot drawn inside a word ("H·olt", Catalan "Col·lecció") does not break it; between single letters
# it spells them out instead (below).
_DOT_IN_WORD = re.compile(r"(?<=[^\W\d_]{2})·(?=[^\W\d_])|(?<=[^\W\d_])·(?=[^\W\d_]{2})")
# Three or more single letters with separators between them (any punctuation, dash, symbol or space, up
# to three characters: "H-O-L-T", "H. O. L. T", "H/O/L/T", "H-O.L-T") are a word spelled out, when every
# gap holds a space or none does: "e.g. I" (one gap without, one with) is an abbreviation and a word.
_SPELLED = re.compile(r"(?<![^\W_])[^\W\d_](?:(?:[^\w\n]|_){1,3}[^\W\d_]){2,}(?![^\W_])")
_GAP = re.compile(r"(?:[^\w\n]|_)+")
# Markdown emphasis inside a word ("K**e**vin", "Pr*i*tchard") is drawn as the plain word.
_EMPHASIS = re.compile(r"(?<=[^\W\d_])\*{1,3}(?=[^\W\d_])")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NOT_PLAIN = re.compile(
    r"[\t\v\f]|-[ \t]*\r?\n|(?<![^\W_])[^\W\d_](?:[^\w\n]|_){1,3}[^\W\d_](?:[^\w\n]|_)|\*(?<=[^\W\d_]\*)\**[^\W\d_]"
)


def _plain(text: str) -> bool:
    return text.isascii() and not _NOT_PLAIN.search(text)


@functools.cache
def _prototypes() -> dict[str, str]:
    """UTS #39 confusables: each character's prototype (its skeleton), as Unicode lists them."""
    table: dict[str, str] = {}
    for line in (DATA / "confusables.txt").read_text(encoding="utf-8-sig").splitlines():
        fields = line.split(";", 2)
        if len(fields) == 3 and not line.startswith("#"):
            table[chr(int(fields[0], 16))] = "".join(chr(int(point, 16)) for point in fields[1].split())
    return table


@functools.cache
def _readings() -> dict[str, tuple[str, ...]]:
    """Prototype -> the ASCII characters with that prototype ("l" is read as "I", "l", "1" or "|")."""
    readings: dict[str, tuple[str, ...]] = {}
    prototypes = _prototypes()
    for char in map(chr, range(0x20, 0x7F)):
        prototype = prototypes.get(char, char)
        readings[prototype] = (*readings.get(prototype, ()), char)
    return readings


@functools.cache
def _turned() -> dict[str, str]:
    """Each turned Latin letter -> the letter it is drawn from, as Unicode names them."""
    table: dict[str, str] = {}
    for low, high in _TURNED_BLOCKS:
        for char in map(chr, range(low, high)):
            found = _TURNED_NAME.match(unicodedata.name(char, ""))
            if found and unicodedata.category(char).startswith("L"):
                letter = found.group(1) or found.group(2)
                small = unicodedata.category(char) == "Ll" and "SMALL CAPITAL" not in unicodedata.name(char)
                table[char] = letter.lower() if small else letter
    return table


@functools.cache
def _turned_letter() -> re.Pattern[str]:
    return re.compile(f"[{''.join(_turned())}]")


def _upside_down_words(text: str) -> list[tuple[int, int, str]]:
    """Each word holding a turned letter, as it reads turned the right way up: reversed, each letter the one
    it is drawn from. Found from its turned letters (rare), then widened to the word: quick on ordinary text."""
    turned = _turned()
    readings = {**_UPSIDE_DOWN_READINGS, **_UPSIDE_DOWN_BORROWED}
    pieces: list[tuple[int, int, str]] = []
    end = 0
    for m in _turned_letter().finditer(text):
        if m.start() < end:
            continue  # another turned letter of a word already read
        start, end = m.start(), m.end()
        while start > 0 and text[start - 1].isalpha():
            start -= 1
        while end < len(text) and text[end].isalpha():
            end += 1
        pieces.append((start, end, "".join(turned.get(char) or readings.get(char, char) for char in reversed(text[start:end]))))
    return pieces


def _turned_upright(text: str) -> str:
    out, pos = [], 0
    for start, end, upright in _upside_down_words(text):
        out += [text[pos:start], upright]
        pos = end
    return "".join(out) + text[pos:]


def _without_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _kind(char: str) -> int:
    """0 a capital, 1 a small letter (or one of a script without case), 2 a digit, 3 anything else."""
    return 0 if char.isupper() else 1 if char.isalpha() else 2 if char.isdigit() else 3


def _read_as(char: str, prototype: str) -> str | None:
    """The ASCII character of char's kind whose prototype this is: "Ι" (Greek) is "I", "ǀ" is "l"."""
    choices = _readings().get(prototype, ())
    if choices:
        same = [c for c in choices if _kind(c) == _kind(char)]
        letters = [c for c in choices if c.isalpha()]
        return (same or letters or choices)[0]
    plain = _without_marks(prototype)
    if plain.isascii() and (plain.isalpha() or len(plain) == 1):
        return plain  # "ł" is "l" with a stroke; "ꜳ" is "aa"
    if len(plain) == 1 and unicodedata.category(plain)[0] in "PS":
        return plain  # a bullet or a hyphenation point is read as the middle dot it is drawn like
    return None


@functools.lru_cache(maxsize=8192)
def look_alike(char: str) -> str | None:
    """The Latin letter (or ASCII mark) a non-ASCII character is drawn like, from Unicode's data; None if none."""
    styled = _STYLED_LETTER.search(unicodedata.name(char, ""))
    if styled:
        return styled.group(1) if not char.islower() or "SMALL CAPITAL" in unicodedata.name(char) else styled.group(1).lower()
    prototype = _prototypes().get(char.upper() if char in _DRAWN_AS_CAPITAL else char)
    return _read_as(char, prototype) if prototype else None


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or bool(_IGNORABLE.match(char))


@functools.lru_cache(maxsize=8192)
def fold_char(char: str) -> str:
    """One character as matching sees it: Latin letters without accents, case kept; invisible ones vanish."""
    if _invisible(char):
        return ""
    if char in _LETTERS:
        return _LETTERS[char]
    if char.isspace():
        return "\n" if char in LINE_BREAKS else " "
    decomposed = _without_marks(unicodedata.normalize("NFKD", char))
    if decomposed.isascii():
        return decomposed  # full-width, mathematical and circled forms, accents
    return "".join(c if c.isascii() else (look_alike(c) or c) for c in decomposed)


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


def _rewrite(text: str, pieces: list[tuple[int, int, str]], whole: bool = False) -> tuple[str, _Map]:
    """text with each (start, end, replacement) applied, in order and not overlapping; `whole`: each piece
    maps back only as a whole (its letters were reordered)."""
    out, marks, pos, shift = [], [], 0, 0
    for start, end, replacement in pieces:
        out += [text[pos:start], replacement]
        if whole or len(replacement) != end - start:  # one letter for another keeps every offset
            marks.append((start + shift, start, len(replacement), end - start))
            shift += len(replacement) - (end - start)
        pos = end
    out.append(text[pos:])
    return "".join(out), _Map(tuple(marks), tuple(mark[0] for mark in marks))


def _drawn(match: re.Match[str]) -> str:
    """What a reader sees of a right-to-left override (its letters reversed) or of a separator inside a word
    (nothing); tag characters are read as the ASCII they encode, except in a flag."""
    piece = match.group()
    if piece[0] in _TAGS:
        return "".join(chr(ord(char) - _TAG_OFFSET) for char in piece)
    if piece[0] == "\U0001f3f4":
        return piece  # a region's flag: its tags stay invisible
    if piece[0] != "\u202e":
        return ""
    clusters: list[str] = []
    for char in piece[1:].rstrip("\u202c"):
        if clusters and (unicodedata.combining(char) or _invisible(char)):
            clusters[-1] += char  # an accent stays on its letter
        else:
            clusters.append(char)
    return "".join(reversed(clusters))


def _spacing(match: re.Match[str]) -> str:
    piece = match.group()
    if piece in "\v\f":
        return "\n"
    if piece.startswith("-"):
        after = match.string[match.end() : match.end() + 1]
        return "" if after.islower() else "-"
    return " "


def _spelled(match: re.Match[str]) -> list[tuple[int, int, str]]:
    """Each word spelled out in a run of single letters: (start, end, letters). The gaps of one word are
    alike: all the same, all holding a space, or all one mark ("H-O.L-T"); a run is cut where they stop
    being so ("e.g. I", "a.m./p.m."). Each word needs three letters."""
    text = match.string
    pieces: list[tuple[int, int, str]] = []
    letters, gaps = [match.start()], []

    def close() -> bool:
        word = "".join(text[i] for i in letters)
        if len(letters) >= 3 and len(set(word.casefold())) > 1:  # "I-I-I" stammers, "x x x" kisses
            pieces.append((letters[0], letters[-1] + 1, word))
            return True
        return False

    for gap in _GAP.finditer(text, match.start(), match.end()):
        if _alike([*gaps, gap.group()]):
            letters.append(gap.end())
            gaps.append(gap.group())
        elif close():
            letters, gaps = [gap.end()], []
        else:
            letters, gaps = [letters[-1], gap.end()], [gap.group()]
    close()
    return pieces


def _alike(gaps: list[str]) -> bool:
    if len(set(gaps)) == 1:
        return True
    spaced = [any(char.isspace() for char in gap) for gap in gaps]
    return all(spaced) or (not any(spaced) and all(len(gap) == 1 for gap in gaps))


@dataclass(frozen=True)
class Folded:
    """A text folded for matching, and how to find the original of any span of it."""

    original: str
    text: str
    maps: tuple[_Map, ...] = ()  # newest first: folded text -> ... -> original
    spelled: tuple[tuple[int, int], ...] = ()  # words spelled out letter by letter, in the folded text

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


def _stage(text: str, pieces: list[tuple[int, int, str]], maps: list[_Map], whole: bool = False) -> str:
    """text with the pieces that change it rewritten; their map goes first in maps."""
    pieces = [piece for piece in pieces if text[piece[0] : piece[1]] != piece[2]]
    if not pieces:
        return text
    text, step = _rewrite(text, pieces, whole)
    if step.marks:
        maps.insert(0, step)
    return text


def fold(text: str) -> Folded:
    """text as the finder and the redactor match it (see the module docstring)."""
    if _plain(text):
        return Folded(text, text)  # plain ASCII: the common case, nothing to do
    maps: list[_Map] = []
    folded = text
    if not text.isascii():
        folded = _stage(folded, [(m.start(), m.end(), _drawn(m)) for m in _DRAWN.finditer(folded)], maps)
        folded = _stage(folded, _upside_down_words(folded), maps, whole=True)
        folded = _stage(folded, [(m.start(), m.end(), fold_char(m.group())) for m in _NON_ASCII.finditer(folded)], maps)
    folded = _stage(folded, [(m.start(), m.end(), _spacing(m)) for m in _SPACING.finditer(folded)], maps)
    if "·" in folded:
        folded = _stage(folded, [(m.start(), m.end(), "") for m in _DOT_IN_WORD.finditer(folded)], maps)
    spelled = [piece for m in _SPELLED.finditer(folded) for piece in _spelled(m)]
    before = len(maps)
    folded = _stage(folded, spelled, maps)
    words = [(new, new + length) for new, _, length, _ in maps[0].marks] if len(maps) > before else []
    if "*" in folded:
        emphasis = [(m.start(), m.end(), "") for m in _EMPHASIS.finditer(folded)]
        folded = _stage(folded, emphasis, maps)
        words = [(_after(emphasis, start), _after(emphasis, end)) for start, end in words]
    return Folded(text, folded, tuple(maps), tuple(words))


def _after(removed: list[tuple[int, int, str]], index: int) -> int:
    """Where index stands once the (start, end, "") pieces before it are gone."""
    return index - sum(end - start for start, end, _ in removed if end <= index)


def readable(text: str) -> str:
    """A name as a reviewer should read it: the letters on screen, with nothing hidden among them.
    Accents and letters such as "ß" stay; invisible characters, look-alike and styled letters, full-width
    and mathematical forms, odd apostrophes, spacing and reversed letters become what they look like."""
    if text.isascii() and not _SPACING.search(text) and "\n" not in text:
        return text
    out = []
    for char in _turned_upright(_DRAWN.sub(_drawn, text)):
        if char.isascii():
            out.append(char)
        elif _invisible(char):
            continue
        elif unicodedata.normalize("NFKC", char) != char:
            out.append(unicodedata.normalize("NFKC", char))
        elif _drawn_like_another(char):
            out.append(look_alike(char) or char)
        else:
            out.append(char)
    # A name is read on one line: a line break inside one (a word broken at it) reads as a space.
    return _LINE_BREAK.sub(" ", _SPACING.sub(_spacing, unicodedata.normalize("NFC", "".join(out))))


_LINE_BREAK = re.compile(f"[ \t]*[{LINE_BREAKS}][ \t]*")


def _drawn_like_another(char: str) -> bool:
    """A letter of another alphabet or a styled one that reads as a Latin letter; not a Latin letter with an accent or stroke."""
    name = unicodedata.name(char, "")
    return bool(look_alike(char)) and (not name.startswith("LATIN") or bool(_STYLED_LETTER.search(name)))


def disguised(char: str) -> bool:
    """Drawn like a Latin letter it is not (another alphabet; a styled, enclosed or turned form; a tag): "Н", "ʜ", "🅗", "ɥ"."""
    if char.isascii():
        return False
    return _drawn_like_another(char) or unicodedata.normalize("NFKC", char).isascii() or char in _turned() or char in _TAGS


@functools.lru_cache(maxsize=65536)
def key(name: str) -> str:
    """What two spellings of one name have in common: "Ｋｙｌｅ", "K\u200byle" and "Kyle" share "Kyle"."""
    return fold(name).text
