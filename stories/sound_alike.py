"""Words a transcriber may have written for a name it heard: close in sound and in spelling, or said where a name goes.

Whisper spells an unfamiliar surname as it hears it ("Grimsditch" as "Grinstich", "Pryce" as
"Price", "Penhaligon" as "Penford"). For a story told aloud, a capitalised word that sounds like one
of the storyteller's name parts and is spelled nearly like it is taken as that name; one that is less
close is flagged for the reviewer. So is, whatever its spelling, a capitalised word said where their
name goes: right after their own given name ("Olive Penford"), or after "my name is", "call me" or
"known as" (an everyday word there is flagged, not hidden). Thresholds were chosen on
bench/data/spoken_names.jsonl (what Whisper wrote for spoken surnames) and the labelled stories;
`bench/redact.py` prints what they catch and cost.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from stories.names import fold, lexicon, sentence_initial

SAME, MAYBE = "same", "maybe"
MIN_LETTERS = 4  # shorter names ("Li", "Lam") sound like too many words
# Share of letters kept by the cheapest edit, for a word taken as the name: 0.6 when it sounds the
# same ("Grinstich" for "Grimsditch"), 0.75 when one sound is off ("Dillingworth" for "Illingworth").
SAME_SPELLING, SAME_SPELLING_ONE_SOUND_OFF = 0.6, 0.75
MAYBE_SPELLING = 0.5

# Spellings that sound alike, rewritten to one form, in order (a cut-down Metaphone for names).
_SOUNDS = [
    (r"^mac", "mc"),
    (r"^(?:kn|gn|pn|wr|ps)", lambda m: m.group()[1]),
    (r"^x", "s"),
    (r"^wh", "w"),
    (r"tch", "ch"),
    (r"dg(?=[eiy])", "j"),
    (r"ck", "k"),
    (r"ph", "f"),
    (r"(?<=ou)gh$", "f"),  # Barraclough, "Maracluff"
    (r"gh", ""),
    (r"sch", "sk"),
    (r"(?:ch|sh)", "x"),
    (r"th", "0"),
    (r"c(?=[eiy])", "s"),
    (r"[cq]", "k"),
    (r"x(?!$)", "ks"),
    (r"(?<=.)[hw]|(?<=[^aeiou])y(?![aeiou])|^h(?![aeiou])", ""),
    (r"[bp]", "p"),
    (r"[dt]", "t"),
    (r"[gkj]", "k"),
    (r"[fv]", "f"),
    (r"[sz]", "s"),
    (r"[mn]", "n"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in _SOUNDS]


@functools.lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """How a word sounds, roughly: consonants by kind, vowels dropped after the first letter."""
    key = "".join(c for c in fold(word) if c.isalpha())
    for pattern, replacement in _COMPILED:
        key = pattern.sub(replacement, key)
    if not key:
        return ""
    head, rest = ("a" if key[0] in "aeiouy" else key[0]), re.sub(r"[aeiouy]", "", key[1:])
    return re.sub(r"(.)\1+", r"\1", head + rest)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def spelling_closeness(a: str, b: str) -> float:
    """1.0 for the same letters, falling with each edit, relative to the longer word."""
    a, b = fold(a), fold(b)
    return 1 - edit_distance(a, b) / max(len(a), len(b), 1)


@functools.lru_cache(maxsize=65536)
def likeness(word: str, name: str) -> str | None:
    """SAME when word is most likely the name misheard, MAYBE when a reviewer should look, else None."""
    if len(name) < MIN_LETTERS or fold(word) == fold(name):
        return None
    word_key, name_key = sound_key(word), sound_key(name)
    if not word_key or abs(len(word_key) - len(name_key)) > 1:
        return None
    sound = edit_distance(word_key, name_key)
    if sound > 1:
        return None
    spelling = spelling_closeness(word, name)
    if (sound == 0 and spelling >= SAME_SPELLING) or (sound == 1 and spelling >= SAME_SPELLING_ONE_SOUND_OFF):
        return SAME
    if sound <= 1 and spelling >= MAYBE_SPELLING:
        return MAYBE
    return None


# --- a transcript's words for the storyteller's name ---------------------------------------

HEARD_ALIKE = "may be the storyteller's own name, misheard"
SAID_AS_NAME = "was said where the storyteller's name goes"
_WORD = re.compile(r"(?<![\w'])[^\W\d_][\w']*?(?='s\b|'?(?![\w']))")  # folded text: one apostrophe
_CAPITALISED = r"[A-Z][\w']*(?:-[A-Z][\w']*)*"
_NAMING = r"(?i:\bmy name is|\bmy name's|\bcall me|\bknown as)"


@functools.lru_cache(maxsize=256)
def _said_as_name(given: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Up to two capitalised words after a naming phrase, and after one of the given names (apart:
    "My name is Anna Wojcie Cowskid" has two words after the phrase and two after "Anna")."""
    before = [_NAMING] + ([rf"(?<![\w'])(?:{'|'.join(map(re.escape, given))})"] if given else [])
    return tuple(re.compile(rf"{after} (?P<words>{_CAPITALISED}(?: {_CAPITALISED})?)") for after in before)


def heard_as_theirs(
    text: str, parts: Iterable[str], given: Iterable[str], rules: Mapping[str, str]
) -> tuple[set[str], dict[str, str]]:
    """Words of a transcript (folded text) that are the storyteller's name as heard: (words to hide as
    theirs, {word: why} for a reviewer to look at). `parts` are their name parts to hide, `given` their
    given names and one-word aliases, `rules` what is already replaced."""
    common = lexicon().common
    parts = [part for part in parts if part in rules]
    hide: set[str] = set()
    flag: dict[str, str] = {}
    said = (m for pattern in _said_as_name(tuple(sorted(set(given)))) for m in pattern.finditer(text))
    for m in said:
        for word in m.group("words").split():
            if word in rules or word in given:
                continue
            if word.lower() in common:
                flag[word] = SAID_AS_NAME  # "known as Big Mags": "Big" is a word
            else:
                hide.add(word)
    for m in _WORD.finditer(text):
        for word in m.group().split("-"):
            if not word[:1].isupper() or word in rules or word in hide:
                continue
            everyday = word.lower() in common
            if everyday and sentence_initial(text, m.start()):
                continue  # "Hold on" opening a sentence is the word, not "Holt"
            for part in parts:
                verdict = likeness(word, part)
                if verdict == SAME and not everyday:
                    hide.add(word)
                    break
                if verdict is not None:
                    flag.setdefault(word, HEARD_ALIKE)
    return hide, {word: why for word, why in flag.items() if word not in hide}
