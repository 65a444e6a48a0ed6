"""How a recorded name is read: its title, given names and surname, in whichever order it was typed.

Workers type names as their case systems hold them: "Margaret Holt", "Holt, Margaret", "HOLT
Margaret", "Mrs Margaret Holt", "Jean-Paul van der Berg". Crediting ("Told by Margaret") and hiding
(every part of the name) both read a name through `read_name`; where the order cannot be told
("Patel Priya"), `order_doubt` says so and the form asks the worker instead of guessing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from stories import folding

# A title is never a given name or a surname ("Mrs Margaret Holt" is credited "Margaret").
from stories.names import PARTICLES, TITLE_WORDS, fold, lexicon


@dataclass(frozen=True)
class RecordedName:
    written: str
    title: tuple[str, ...]
    given: tuple[str, ...]
    surname: tuple[str, ...]  # with its particles: ("van", "der", "Berg")

    @property
    def first(self) -> str | None:
        """The name a first-name level credits."""
        return self.given[0] if self.given else None

    @property
    def nickname(self) -> bool:
        """One given name and nothing else ("Mags"): first-name level, so a first-name story may show it."""
        return len(self.given) == 1 and not self.surname and not self.title

    @property
    def parts(self) -> list[str]:
        """Every word that names the person: given names and surname, without title or particles."""
        return [*self.given, *(word for word in self.surname if not _is_particle(word, self.surname))]

    @property
    def particles(self) -> list[str]:
        return [word.lower() for word in self.surname if _is_particle(word, self.surname)]

    @property
    def natural(self) -> str:
        """Given names first: "Margaret Holt" for "HOLT, Margaret"."""
        return " ".join([*self.given, *self.surname])

    @property
    def credit(self) -> str:
        """How the named level credits the person: title, given names, surname."""
        return " ".join([*self.title, self.natural]).strip()

    @property
    def surname_with_particles(self) -> str | None:
        """ "van der Berg", as people say a surname with particles; None without particles."""
        return " ".join(self.surname) if self.particles else None


def _is_particle(word: str, surname: tuple[str, ...]) -> bool:
    return word.lower() in PARTICLES and word != surname[-1]


def _tidy(word: str) -> str:
    """A surname typed in capitals, as a case system writes it, in ordinary case: "HOLT" -> "Holt"."""
    if not word.isupper() or len(word) < 2:
        return word
    tidy = "-".join("'".join(piece.capitalize() for piece in part.split("'")) for part in word.split("-"))
    return "Mc" + tidy[2:].capitalize() if tidy.startswith("Mc") else tidy


def _titles(words: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """A title is never a given name or a surname: "Mrs Margaret Holt" is credited "Margaret"."""
    count = 0
    while count < len(words) - 1 and words[count].rstrip(".").lower() in TITLE_WORDS:
        count += 1
    return tuple(words[:count]), words[count:]


def _natural(words: list[str]) -> tuple[list[str], list[str]]:
    """(given, surname) of a name typed given names first: the last word and the particles before it."""
    if len(words) < 2:
        return words, []
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in PARTICLES:
        start -= 1
    return words[:start], words[start:]


def split_names(value: object) -> list[str]:
    """The names in the form's field: separated by ";" (or given as a list). A single comma is "Surname,
    Given" when a surname stands before it ("Holt, Margaret", "van der Berg, Jean-Paul"); otherwise
    commas separate names, as they always have ("Margaret Holt, Maggie")."""
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
    else:
        raw = str(value or "")
        items = raw.split(";") if ";" in raw or _surname_first(raw) else raw.split(",")
    return [" ".join(item.split()) for item in items if item.strip()]


def _surname_first(raw: str) -> bool:
    if raw.count(",") != 1:
        return False
    before, after = (piece.split() for piece in raw.split(","))
    _, before = _titles(before)
    particles = all(word.lower() in PARTICLES for word in before[:-1])
    return bool(before and after) and (len(before) == 1 or particles or all(word.isupper() for word in before))


@functools.lru_cache(maxsize=4096)
def read_name(written: str) -> RecordedName:
    """Title, given names and surname, read from how the name was typed."""
    text = " ".join(folding.readable(written).split())
    if text.count(",") == 1:  # "Holt, Margaret": surname first, as registers list people
        surname_part, given_part = (piece.split() for piece in text.split(","))
        title, surname = _titles(surname_part)
        more, given = _titles(given_part)
        if surname and given:
            return RecordedName(written, (*title, *more), tuple(given), tuple(_tidy(w) for w in surname))
    title, words = _titles(text.replace(",", " ").split())
    capitals = 0
    while capitals < len(words) and words[capitals].isupper() and len(words[capitals].strip(".")) > 1:
        capitals += 1
    if 0 < capitals < len(words):  # "HOLT Margaret", "VAN DER BERG Jean-Paul": the surname in capitals, first
        return RecordedName(written, title, tuple(words[capitals:]), tuple(_tidy(w) for w in words[:capitals]))
    if title and len(words) == 1:  # "Mrs Holt": a title goes with a surname
        return RecordedName(written, title, (), (_tidy(words[0]),))
    given, surname = _natural(words)
    if surname and all(word.isupper() for word in surname) and not all(word.isupper() for word in given):
        surname = [_tidy(word) for word in surname]  # "Margaret HOLT"
    return RecordedName(written, title, tuple(given), tuple(surname))


def order_doubt(written: str) -> str | None:
    """A question for the worker when the order of a name cannot be told: "Patel Priya" reads as the
    given name Patel, but Patel is known only as a surname and Priya only as a given name; in "Maggie,
    Mags" the word before the comma is no known surname."""
    name = read_name(written)
    if len(name.given) != 1 or len(name.surname) != 1:
        return None
    lex = lexicon()
    given, surname = fold(name.given[0]), fold(name.surname[0])
    if "," in written:
        if surname in lex.surnames or written.split(",")[0].isupper():
            return None
        return (
            f"In “{written}”, is {name.surname[0]} the surname? If so, write “{name.given[0]} {name.surname[0]}”; "
            "if these are two names, separate them with “;”."
        )
    if name.written.split()[0].isupper():
        return None
    if not (given in lex.surnames and given not in lex.given and surname in lex.given and surname not in lex.surnames):
        return None
    return (
        f"In “{written}”, is {name.given[0]} the surname? Write it as “{name.surname[0]} {name.given[0]}” "
        f"(given name first) or “{name.given[0]}, {name.surname[0]}” (surname first, with a comma), "
        "so that the story credits the right name."
    )
