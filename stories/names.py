"""Find person names and contact details in story text, offline: gazetteers, cue phrases and casing.

Tuned for recall: a reviewer dismisses a false alarm, but a missed name can identify a storyteller.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from stories import folding
from stories.wordlists import read_list, word_set

DEFAULT_PLACEHOLDER = "[name]"

# The words read around a capitalised word are data (stories/data/, each file says what its list is for),
# read once, here. Possessives and determiners are grammar, written into the role patterns below.
TITLES = word_set("titles")  # formal: hidden with a name in any case ("Mrs Holt", "DR HOLT")
TITLE_WORDS = TITLES | word_set("word_titles")  # what a recorded name's title may be ("Miss Holt")
HONORIFICS = TITLE_WORDS | word_set("honorifics")  # what makes the next capitalised word a name ("Auntie Claudette")
PARTICLES = word_set("particles")
KIN_ROLES = word_set("kin_roles")
WORK_ROLES = word_set("work_roles")
ROLES = KIN_ROLES | WORK_ROLES
_OWNERS = frozenset("my our his her their your".split())
SUBJECT_VERBS = word_set("subject_verbs")
_DETERMINERS = frozenset("the a an this that these those".split())
_ATTRIBUTION = word_set("attribution_verbs")
_PLACE_BEFORE = word_set("place_prepositions")
_TIME_BEFORE = _PLACE_BEFORE | word_set("time_prepositions")
_MOTION = word_set("motion_words")
ORG_WORDS = word_set("org_words")
PLACE_WORDS = word_set("place_words")
_PLACE_SUFFIXES = tuple(sorted(word_set("place_suffixes")))
_TITLE_ROLES = dict(line.split() for line in read_list("title_roles.txt"))
_LOWERCASE_NEVER = word_set("lowercase_never")

_UPPER = "".join(c for c in map(chr, [*range(0x41, 0x250), *range(0x1E00, 0x1F00)]) if c.isupper())
_CAP_TOKEN = re.compile(rf"(?<![\w'’])[{_UPPER}]\w*(?:['’‘-]\w+)*['’]?")
_LOWER_TOKEN = re.compile(r"(?<![\w'’])[^\W\d_]+(?:['’-][^\W\d_]+)*")
_CONTRACTION = re.compile(r"['’](?:t|re|ve|ll|d|m)$", re.IGNORECASE)
_LINE = re.compile(r"[^\n]+")
_LOWER_I = re.compile(r"(?:^|[\s,.])i(?:['’](?:m|ve|d|ll)\b|\s)")
_NEXT_WORD = re.compile(r"['’]?s?\s+([a-z]+)")
_ROLE_ALT = "|".join(sorted((re.escape(r) for r in ROLES), key=len, reverse=True))
# Up to two words before the role ("support worker", "wee brother"), but not "and his".
_MODIFIER = r"(?!(?:and|or|but|with|to|of|for|at|in|on|my|our|his|her|their|your|the|a|an)\s)[a-z][a-z'’-]*\s+"
_ROLE_BEFORE = re.compile(
    rf"(?:\b(my|our|his|her|their|your|the|a|an)\s+)?((?:{_MODIFIER}){{0,2}}?(?:{_ROLE_ALT}))"
    rf"\s*,?\s*(?:(?:who\s+is\s+)?(?:called|named)\s+)?$"
)
_ROLE_AFTER = re.compile(
    rf"^['’]?s?\s*,\s*(?:(my|our|his|her|their|your|the|a|an)\s+)"
    rf"((?:{_MODIFIER}){{0,2}}?(?:{_ROLE_ALT}))\b"
)
_NAMING_BEFORE = re.compile(r"\b(?:called|named|name is|name was|name's|known as)\s+$")
_WHO_AFTER = re.compile(r"^['’]?s?\s*,\s*who\b")
_POSSESSIVE = re.compile(r"['’]s?$")
# UK phone numbers (07700 900123, 0113 496 0000, +44 7700 900123), e-mail addresses, postcodes
# (LS6 2AB), NHS numbers (485 777 3456) and street addresses (14 Elm Street): each is found and
# offered to the reviewer like a name.
_STREET_KINDS = (
    "Street St Road Rd Avenue Ave Lane Close Drive Way Crescent Terrace Grove Place Court Gardens Walk Rise "
    "Mews Row Square Hill View Green Park Parade Vale Fold Croft Mount Yard Approach Garth Wynd"
)
# Typed in lower case ("14 acacia avenue") an address is as much one, when its words are no grammar word or unit.
_NOT_STREET = "|".join(sorted(word_set("not_street_words"), key=len, reverse=True))
_STREET_WORD = rf"(?:[{_UPPER}][\w'’-]*|(?!(?:{_NOT_STREET})\b)[a-z][\w'’-]*)"
_STREET_ADDRESS = (
    rf"\b\d{{1,4}}[A-Za-z]?,?\s+(?:{_STREET_WORD}\s+){{1,3}}"
    rf"(?:{'|'.join(_STREET_KINDS.split())}|{'|'.join(kind.lower() for kind in _STREET_KINDS.split())})\b"
)
STREET_ADDRESS = re.compile(_STREET_ADDRESS)
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# Web addresses: "https://…", "www.…", or a domain with a common ending and any path
# ("facebook.com/margaret.holt"); a full stop or bracket after one ends the sentence, not the address.
_URL_END = r"[^\s<>\"'.,;:!?)\]]"
_URL = (
    rf"(?i:(?:https?://|www\.)[^\s<>\"']*{_URL_END}"
    r"|(?<![\w@.-])[a-z\d-]+(?:\.[a-z\d-]+)*\.(?:com|org|net|uk|io|me|tv|co|info|biz|app|ly|gg|ie|eu|social)"
    rf"(?:/(?:[^\s<>\"']*{_URL_END})?)?(?![\w-]))"
)
IDENTIFIER = re.compile(
    _STREET_ADDRESS + r"|(?<![\w+])(?:\+44\s?|0)\d(?:[\s-]?\d){8,9}(?!\d)"
    rf"|{_EMAIL}|{_URL}"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"
    r"|\b\d{3}\s\d{3}\s\d{4}\b"
)
# E-mail addresses, web addresses and @handles: contact details, which a name inside makes the person's.
CONTACT = re.compile(rf"{_EMAIL}|{_URL}|(?<![\w@])@\w{{2,}}")
# Where a contact detail may be: quicker to look for than CONTACT itself, which is then run on the token there.
_CONTACT_HINT = re.compile(r"[@:.](?:(?<=@)|(?<=:)(?=//)|(?<=[^\W_]\.)(?=[^\W\d_]))")
_LISTED_WITH_NAME = re.compile(rf"(?:,| and| &) [{_UPPER}]")
_LISTED_AFTER_NAME = re.compile(rf"[{_UPPER}][\w'’-]*(?:,| and| &) $")


@dataclass(frozen=True)
class NameMention:
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class _Lexicon:
    given: frozenset[str]
    surnames: frozenset[str]
    common: frozenset[str]
    frequent: frozenset[str]
    stop: frozenset[str]
    stop_acronyms: frozenset[str]
    stop_phrases: dict[str, tuple[str, ...]]


def fold(word: str) -> str:
    """Lower-case without accents, so "Siân" meets "Sian"."""
    return word.lower() if word.isascii() else strip_accents(word.lower())


def strip_accents(word: str) -> str:
    """ "Siân" as it is often typed: "Sian"."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _with_folds(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w for word in words for w in (word.lower(), fold(word)))


@functools.cache
def lexicon() -> _Lexicon:
    stop, acronyms, phrases = set(), set(), {}
    for entry in read_list("not_names.txt"):
        if " " in entry:
            first = _POSSESSIVE.sub("", entry.split()[0].lower())
            phrases[first] = (*phrases.get(first, ()), entry.lower())
        elif entry.isupper() and len(entry) > 1:
            acronyms.add(entry)
        else:
            stop.add(entry.lower())
    common = read_list("common_words.txt")  # most frequent first
    return _Lexicon(
        given=_with_folds(read_list("given_names.txt")),
        surnames=_with_folds(read_list("surnames.txt")),
        common=frozenset(common),
        frequent=frozenset(common[:300]),
        stop=frozenset(stop),
        stop_acronyms=frozenset(acronyms),
        stop_phrases={k: tuple(sorted(v, key=len, reverse=True)) for k, v in phrases.items()},
    )


# --- finding names ------------------------------------------------------------------------

# Kinds of capitalised token: NAME is a name wherever it stands; AMBIGUOUS (Grace, Will) is a
# name mid-sentence but needs a cue at a sentence start; WEAK (May, Jordan, Chelsea) is a
# name only with a cue; WORD (Honey, Blue, but also Credit) is an everyday word that is a
# name only standing alone with a cue; the rest never start a name.
NAME, AMBIGUOUS, WEAK, WORD, HONORIFIC, INITIAL, SAINT, OTHER = range(8)


@functools.lru_cache(maxsize=65536)
def _kind(word: str) -> int:
    """Classify one capitalised token (possessive already removed)."""
    lex = lexicon()
    lower = word.lower()
    if len(word) == 1:
        return OTHER if word in "IA" else INITIAL
    if lower in HONORIFICS:
        return HONORIFIC
    if lower in ("st", "saint"):
        return SAINT
    folded = fold(word)
    is_given = folded in lex.given
    if word.isupper() or (word[:-1].isupper() and word[-1] == "s" and len(word) > 2):
        if word in lex.stop_acronyms or len(word) < 3 or not is_given or lower in lex.common:
            return OTHER  # NHS, GCSEs, PIP; but "ALAN" on a badge is a name
    if lower in KIN_ROLES:
        return OTHER
    if lower in lex.stop or (lower[-1] == "s" and lower[:-1] in lex.stop and not is_given):
        return WEAK if is_given else OTHER  # "Fridays" too
    if lower in lex.common:
        if is_given:
            return AMBIGUOUS
        return OTHER if lower in lex.frequent else WORD  # "The", "She" never need a look
    if "-" in word:
        parts = [p.lower() for p in word.split("-")]
        if all(p in lex.common or p in lex.stop for p in parts) and not any(
            fold(p) in lex.given or fold(p) in lex.surnames for p in parts
        ):
            return OTHER  # "Follow-up", "Stoke-on-Trent"
    return NAME


def _family(word: str) -> bool:
    """ "Kowalskis", "Joneses": a known surname made plural, as a family is named."""
    lex = lexicon()
    stems = (word[:-1], word[:-2]) if word.endswith("es") else (word[:-1],)
    return word.endswith("s") and any(fold(stem) in lex.surnames for stem in stems)


def _is_known_name(word: str) -> bool:
    lex = lexicon()
    folded = fold(word)
    return folded in lex.given or folded in lex.surnames


def sentence_initial(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t([*•–—-":
        i -= 1
    return i < 0 or text[i] in ".!?…:;\n\"“‘'"  # quoted speech starts a sentence


def _previous_word(text: str, start: int) -> str:
    head = text[max(0, start - 30) : start].rstrip()
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("("), head.rfind('"'))
    return head[cut + 1 :].lower()


def _role_before(text: str, start: int) -> re.Match[str] | None:
    """ "my son " or "a volunteer called " just before start."""
    before = text[max(0, start - 60) : start].lower()
    last = before.rstrip(" ,").rsplit(None, 1)[-1:]
    if not last or (last[0] not in ROLES and last[0] not in ("called", "named")):
        return None  # cheap test first: the regex is the slow part of finding names
    return _ROLE_BEFORE.search(before)


def _has_cue(text: str, start: int, end: int, possessive: bool) -> bool:
    """Context that marks a doubtful word as a person: "my son X", "X said", "X, who"."""
    if possessive:
        return True
    after = text[end : end + 40]
    nxt = _NEXT_WORD.match(after)
    if nxt and nxt.group(1) in SUBJECT_VERBS:
        return True
    if after[:1] in ",'’" and (_WHO_AFTER.match(after) or _ROLE_AFTER.match(after)):
        return True
    if _role_before(text, start) or _NAMING_BEFORE.search(text, max(0, start - 20), start):
        return True
    return _previous_word(text, start) in _ATTRIBUTION


@dataclass
class _Token:
    start: int
    end: int  # end of the word without any possessive
    word: str
    kind: int
    possessive: bool


def _cap_tokens(text: str) -> list[_Token]:
    tokens = []
    for m in _CAP_TOKEN.finditer(text):
        raw = m.group()
        if _CONTRACTION.search(raw):
            continue  # Don't, I'm, You're
        word = _POSSESSIVE.sub("", raw) if raw[-1] in "'’" or raw[-2:] in ("'s", "’s") else raw
        if not word:
            continue
        start, end = m.start(), m.start() + len(word)
        # "A. Osei": a lone capital before a full stop is an initial, even "A" or "I"
        kind = INITIAL if len(word) == 1 and text[end : end + 1] == "." else _kind(word)
        tokens.append(_Token(start, end, word, kind, word != raw))
    return tokens


def _joinable(text: str, prev: _Token, cur: _Token) -> bool:
    gap = text[prev.end : cur.start]
    if prev.possessive:
        return gap == " "
    if gap == " ":
        return True
    if gap in (". ", ".") and prev.kind in (INITIAL, HONORIFIC, SAINT):
        return True
    if gap == " and " and prev.kind == HONORIFIC and cur.kind == HONORIFIC:
        return True  # "Mr and Mrs Wiśniewski"
    inner = gap.strip()
    return gap.startswith(" ") and gap.endswith(" ") and all(w in PARTICLES for w in inner.split())


def _chains(text: str, tokens: list[_Token]) -> list[list[_Token]]:
    chains: list[list[_Token]] = []
    for tok in tokens:
        if chains and _joinable(text, chains[-1][-1], tok):
            chains[-1].append(tok)
        else:
            chains.append([tok])
    return chains


def _mark_stop_phrases(text: str, chain: list[_Token]) -> list[_Token]:
    """Drop tokens covered by a listed non-name phrase ("Sue Ryder", "Isle of Wight")."""
    phrases = lexicon().stop_phrases
    kept, covered_to = [], -1
    for tok in chain:
        if tok.start < covered_to:
            continue
        for phrase in phrases.get(tok.word.lower().replace("’", "'").rstrip("'"), ()):
            end = tok.start + len(phrase)
            candidate = text[tok.start : end].lower().replace("’", "'")
            if candidate == phrase and not text[end : end + 1].isalnum():
                covered_to = end
                break
        else:
            kept.append(tok)
    return kept


def _is_org_or_place(chain: list[_Token]) -> bool:
    if len(chain) == 1:
        return chain[0].kind == SAINT or chain[0].word.lower() in ORG_WORDS
    if any(t.kind == HONORIFIC for t in chain):
        return False
    if chain[0].kind == SAINT:
        return True  # St Mark's, St Thomas' Hospital
    words = [t.word.lower() for t in chain]
    if any(w in ORG_WORDS for w in words):
        return True
    if len(chain) > 1 and any(t.possessive for t in chain[:-1]):
        return True  # "Winston's Wish", "Yarl's Wood"
    first_given = fold(chain[0].word) in lexicon().given
    return len(chain) > 1 and words[-1] in PLACE_WORDS and not first_given


def _runs(chain: list[_Token]) -> list[list[_Token]]:
    """Split a chain into candidate names at words that cannot be part of one."""
    if len(chain) == 1 and chain[0].kind == WORD:
        return [chain]  # a lone everyday word: "Blue wants to play", not "Universal Credit"
    runs: list[list[_Token]] = []
    current: list[_Token] = []
    for tok in chain:
        anchored = any(t.kind in (NAME, AMBIGUOUS, HONORIFIC) for t in current)
        if tok.kind in (NAME, AMBIGUOUS, WEAK, HONORIFIC, INITIAL):
            if tok.kind == HONORIFIC and current and current[-1].kind != HONORIFIC:
                runs.append(current)
                current = []
            current.append(tok)
        elif anchored and (fold(tok.word) in lexicon().surnames or _shouted_surname(tok, current[-1])):
            current.append(tok)  # "Helen Marsh", "Mrs Green", "DEREK COULTHARD"
        else:
            if current:
                runs.append(current)
            current = []
        if tok.possessive and current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _shouted_surname(tok: _Token, before: _Token) -> bool:
    """A word in capitals after a name in capitals is its surname, as it would be written in lower case."""
    lex = lexicon()
    word = tok.word
    if not (word.isupper() and before.word.isupper() and len(word) > 2):
        return False
    return word.lower() not in lex.common and word not in lex.stop_acronyms


def _looks_like_place(text: str, tok: _Token) -> bool:
    if fold(tok.word) in lexicon().given:
        return False
    head = text[max(0, tok.start - 40) : tok.start].lower().split()
    prev = head[-1] if head else ""
    if prev in _PLACE_BEFORE:
        return True
    if _is_known_name(tok.word):
        return False
    # "moved to Hounslow" is a place, "a call from Semhar" a person
    if prev in ("to", "from", "at") and len(head) > 1 and head[-2] in _MOTION:
        return True
    return tok.word.lower().endswith(_PLACE_SUFFIXES)


def _judge(text: str, run: list[_Token]) -> str:
    """'yes' for a name, 'no' for none, 'maybe' for a doubtful word another mention can confirm."""
    kinds = [t.kind for t in run]
    if HONORIFIC in kinds:
        return "yes" if kinds[-1] != HONORIFIC else "no"
    first = run[0]
    if len(run) > 1:
        return "yes"
    if first.kind == INITIAL:
        after = text[first.end : first.end + 3]
        return "yes" if re.match(r"\.(?:\s+[a-z,]|,)", after) else "no"
    if first.kind == WEAK:
        if _previous_word(text, first.start) in _TIME_BEFORE:
            return "no"
        return "yes" if _has_cue(text, first.start, first.end, False) else "no"
    previous = _previous_word(text, first.start)
    if first.kind == WORD:
        if previous in _DETERMINERS:
            return "no"
        if _has_cue(text, first.start, first.end, False):
            return "maybe" if sentence_initial(text, first.start) else "yes"
        listed = _LISTED_WITH_NAME.match(text, first.end) or _LISTED_AFTER_NAME.search(
            text, max(0, first.start - 40), first.start
        )
        return "maybe" if listed else "no"
    if first.kind == NAME:
        if previous in _DETERMINERS and not _is_known_name(first.word) and not _family(first.word):
            return "no"  # "the Playhouse", "an Englishman"; but "the Kowalskis" is a family
        return "no" if _looks_like_place(text, first) else "yes"
    if not sentence_initial(text, first.start):
        return "yes"
    return "yes" if _has_cue(text, first.start, first.end, first.possessive) else "maybe"


def _capitalised_mentions(text: str) -> tuple[list[NameMention], list[NameMention]]:
    found, doubtful = [], []
    for chain in _chains(text, _cap_tokens(text)):
        if all(t.kind == OTHER for t in chain):
            continue
        chain = _mark_stop_phrases(text, chain)
        if not chain or _is_org_or_place(chain):
            continue
        for run in _runs(chain):
            verdict = _judge(text, run)
            if verdict == "no":
                continue
            start = run[0].start
            end = run[-1].end + (1 if run[-1].kind == INITIAL and text[run[-1].end : run[-1].end + 1] == "." else 0)
            mention = NameMention(text[start:end], start, end)
            (found if verdict == "yes" else doubtful).append(mention)
    return found, doubtful


def _lowercase_line(line: str) -> bool:
    """Transcribed speech with no capitals: "so i went to see priya"."""
    return bool(_LOWER_I.search(line)) or (line == line.lower() and line.count(" ") >= 5)


def _lowercase_mentions(text: str, known: set[str], lower_words: set[str]) -> list[NameMention]:
    lex = lexicon()
    found: list[NameMention] = []
    lowercase_lines: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        if not _lowercase_line(line.group()):
            continue
        lowercase_lines.append(line.span())
        prev_word, run_start, run_end = "", -1, -1
        for m in _LOWER_TOKEN.finditer(text, line.start(), line.end()):
            word, start, end = m.group(), m.start(), m.end()
            if not word.islower() or _CONTRACTION.search(word):
                prev_word = word.lower()
                continue
            word = _POSSESSIVE.sub("", word) if word.endswith(("'s", "’s")) else word
            end = start + len(word)
            folded = fold(word)
            in_lists = folded in lex.given or folded in lex.surnames
            plain = word not in lex.common and word not in lex.stop
            if prev_word in HONORIFICS and (plain or in_lists):
                start = run_start if run_start >= 0 else m.start() - len(prev_word) - 1
                is_name = True
            elif word in _LOWERCASE_NEVER:
                is_name = False
            elif (in_lists and plain and len(word) > 1) or word in known:
                is_name = True
            else:  # "my boss stelios", "my daughter grace"
                is_name = (plain or folded in lex.given) and len(word) > 2 and _has_cue(text, start, end, False)
            if is_name:
                if run_end >= 0 and text[run_end:start] == " ":
                    start = run_start  # "mohamed farah" is one name
                if found and found[-1].start == start:
                    found.pop()
                found.append(NameMention(text[start:end], start, end))
                run_start, run_end = start, end
            else:
                run_start, run_end = -1, -1
            prev_word = word
    return found + _lowercase_in_cased(text, lower_words, known, lowercase_lines)


# In ordinarily written text, a name typed in lower case is found after a title or a role ("dr. patel",
# "my neighbour jean") or as a given name and a surname together ("jean smith"), never alone.
_LOWER_RUN = re.compile(r"\b[a-z]{2,}\b")
_LOWER_WORD = re.compile(r"(?<![\w'’@#.-])[a-z][a-z'’]*[a-z](?![\w@-])")
_TITLED = re.compile(rf"(?:{'|'.join(sorted(HONORIFICS, key=len, reverse=True))})\.?\s+$", re.IGNORECASE)


@functools.cache
def _lowercase_names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames) that are no everyday word, in lower case: "jean", "smith", not "will"."""
    lex = lexicon()
    ordinary = lex.common | lex.stop | _LOWERCASE_NEVER
    return frozenset(lex.given - ordinary), frozenset(lex.surnames - ordinary)


def given_name(word: str) -> bool:
    """A given name that is no everyday word: "maggie", not "will"."""
    return fold(word) in _lowercase_names()[0]


def contacts(text: str) -> list[tuple[int, int]]:
    """Spans of the e-mail and web addresses and @handles in text (CONTACT, run only where one may be)."""
    spans: list[tuple[int, int]] = []
    end = 0
    for hint in _CONTACT_HINT.finditer(text):
        if hint.start() < end:
            continue
        start = hint.start()
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        end = hint.end()
        while end < len(text) and not text[end].isspace():
            end += 1
        spans += [(start + m.start(), start + m.end()) for m in CONTACT.finditer(text[start:end])]
    return spans


def known_only_as_name(word: str) -> bool:
    """A word in the name lists that is no everyday word, in any case: "holt", "Margaret", not "will"."""
    given, surnames = _lowercase_names()
    return fold(word) in given or fold(word) in surnames


def _occurrences(text: str, words: Collection[str]) -> list[tuple[int, str]]:
    """Where each lower-case word stands alone in text, in order: found with str.find when they are few
    (no pattern to compile for each story), with one pass over the text's words when they are many."""
    if len(words) > 8:
        at_words = ((m.start(), m.group()) for m in _LOWER_RUN.finditer(text) if m.group() in words)
    else:
        at_words = ((at, word) for word in words for at in _finds(text, word))
    found = []
    for at, word in at_words:
        end = at + len(word)
        alone_before = at == 0 or not (text[at - 1].isalnum() or text[at - 1] in "_'’@#.-")
        if alone_before and (end == len(text) or not (text[end].isalnum() or text[end] in "_'’@-")):
            found.append((at, word))
    return sorted(found)


def _finds(text: str, word: str) -> Iterator[int]:
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + len(word))


def _lowercase_in_cased(text: str, words: set[str], known: set[str], lowercase_lines: list[tuple[int, int]]) -> list[NameMention]:
    """Lower-case names in ordinarily written lines; `words` are the text's lower-case words."""
    given, surnames = _lowercase_names()
    candidates = {w for w in words if (w in given or w in surnames) and w not in HONORIFICS}  # "the captain": a role
    if not candidates:
        return []  # most texts: no lower-case word that is only a name
    starts = [start for start, _ in lowercase_lines]
    found: list[NameMention] = []
    for start, word in _occurrences(text, candidates):
        end = start + len(word)
        i = bisect.bisect_right(starts, start) - 1
        if (i >= 0 and start < lowercase_lines[i][1]) or (found and start < found[-1].end):
            continue  # a line of transcribed speech has rules of its own
        nxt = _LOWER_WORD.match(text, end + 1) if text[end : end + 1] == " " else None
        pair = nxt is not None and word in given and nxt.group() in surnames
        titled = _TITLED.search(text, max(text.rfind("\n", 0, start) + 1, start - 14), start)
        if not (pair or titled or word in known or (word in given and _kin_before(text, start))):
            continue
        if titled and text[titled.start() - 1 : titled.start()].isalpha():
            continue  # "Ms" inside "Items"
        start = titled.start() if titled else start
        end = nxt.end() if pair else end
        found.append(NameMention(text[start:end], start, end))
    return found


# A title in any case just before a word in lower case that is no everyday word: "dr nkemelu", "Mrs kowalczyk".
_TITLE_BEFORE = re.compile(rf"(?<![\w'’])(?i:{'|'.join(sorted(TITLE_WORDS, key=len, reverse=True))})\.?[ \t]+$")


def _titled_words(text: str, lower_words: set[str]) -> list[NameMention]:
    """Looked for from the text's few lower-case words that are no everyday word, not from every title."""
    lex = lexicon()
    candidates = lower_words - lex.common - lex.stop - HONORIFICS - _LOWERCASE_NEVER
    found = []
    for start, word in _occurrences(text, candidates) if candidates else ():
        title = _TITLE_BEFORE.search(text, max(0, start - 16), start)
        if title:
            found.append(NameMention(text[title.start() : start + len(word)], title.start(), start + len(word)))
    return found


def _with_lowercase_surname(text: str, mention: NameMention) -> NameMention:
    """ "Jean smith": a surname typed in lower case after a given name belongs to it."""
    nxt = _LOWER_WORD.match(text, mention.end + 1) if text[mention.end : mention.end + 1] == " " else None
    if nxt is None or nxt.group() not in _lowercase_names()[1] or fold(mention.name) not in lexicon().given:
        return mention
    return NameMention(text[mention.start : nxt.end()], mention.start, nxt.end())


def _kin_before(text: str, start: int) -> bool:
    """ "my neighbour " just before start (a work role is too often followed by a word: "his guardian angel")."""
    role = _role_before(text, start)
    return role is not None and role.group(1) in _OWNERS and role.group(2).split()[-1] in KIN_ROLES


# Handles, hashtags and user names join words by case, digits or marks: "kylebradshaw88",
# "#HoltFamily", "x-kyle-x", "Holt_Barnes". One holding a name is that person's.
# Found at the join; each branch starts with a mark, a digit or a capital, which keeps the scan quick.
_JOIN = re.compile(
    r"[\d_.#-](?:(?<=[^\W\d_][\d_.-])(?=[^\W_])|(?<=\d)(?=[^\W\d_])|(?<=_)(?=[^\W_])|(?<=#)(?=\w))|(?<=[a-z])[A-Z]"
)
_TOKEN_TAIL = re.compile(r"[\w.'’-]*")
_IN_TOKEN = frozenset(".'’-_#@")
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
MIN_JOINED = 4  # "Tok" in "TikTok", "Ray" in "x-ray" are too short to call a name


def joined_segments(token: str) -> list[str]:
    """The words a joined token is made of: "kylebradshaw88" -> ["kylebradshaw"], "#HoltFamily" -> ["Holt", "Family"]."""
    return _SEGMENT.findall(token)


def _name_in_joined(token: str) -> bool:
    given, surnames = _lowercase_names()
    for segment in joined_segments(token):
        word = fold(segment)
        if len(word) >= MIN_JOINED and (word in given or word in surnames):
            return True
        # Two names run together: "kylebradshaw"
        if any(
            word[:i] in given and (word[i:] in surnames or word[i:] in given)
            for i in range(MIN_JOINED - 1, len(word) - MIN_JOINED + 2)
        ):
            return True
        # A given name and a word that is no everyday one: "nigelfarnsworth" (not "breathlessness", "saturdays")
        if _no_word(word) and any(
            word[:i] in given and _no_word(word[i:]) for i in range(MIN_JOINED, len(word) - MIN_SURNAME + 1)
        ):
            return True
    return False


MIN_SURNAME = 5
_SUFFIX = re.compile(r"(?:es|s|ness|ly|ing|ed|er|ology|ologist)$")


def _no_word(word: str) -> bool:
    """Neither an everyday word nor one made from one by a common ending."""
    lex = lexicon()
    stems = {word, _SUFFIX.sub("", word), word[:-1]}
    return len(word) >= MIN_SURNAME and not any(stem in lex.common or stem in lex.stop for stem in stems)


def _joined_tokens(text: str, lower_words: set[str]) -> dict[int, str]:
    """Every token holding a join, by where it starts: found at the join, then widened to the whole token."""
    tokens: dict[int, str] = {}
    end = 0
    for m in _JOIN.finditer(text):
        if m.start() < end:
            continue  # a second join in a token already taken
        start = m.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in _IN_TOKEN):
            start -= 1
        end = _TOKEN_TAIL.match(text, m.start()).end()
        while start < end and text[start] in ".'’-":
            start += 1
        token = text[start:end].rstrip(".'’-")
        if token:
            tokens[start] = token
    lex = lexicon()
    together = {
        w
        for w in lower_words
        if len(w) >= 7 and w not in lex.common and w not in lex.given and w not in lex.surnames and _name_in_joined(w)
    }
    for start, word in _occurrences(text, together):  # "kylebradshaw"
        tokens.setdefault(start, word)
    return tokens


def _joined_mentions(text: str, lower_words: set[str]) -> list[NameMention]:
    found = []
    common = lexicon().common
    for start, token in _joined_tokens(text, lower_words).items():
        if token.isalpha() and token[0].isupper():
            continue  # "McDonald", "MargaretHolt": a capitalised word, judged as one
        if token in common or not _name_in_joined(token):
            continue
        found.append(NameMention(token, start, start + len(token)))
    return found


# A name split in two by a space or a line break ("Ho lt", "Ke" / "vin"): two pieces of letters that make a
# name no everyday word is, one of them no word at all. Honest text splits no word so: not one such pair in
# the labelled stories' 27,000 words, where joining any two words makes 195 names ("to be", "Mei Ling").
_PIECE = re.compile(r"[^\W\d_]+")
_SPLIT_GAP = re.compile(r"[^\S\n]*\n?[^\S\n]*")
_PIECE_BEFORE = re.compile(r"(?<![\w'’@#.*-])([^\W\d_]+)([^\S\n]*\n?[^\S\n]*)\Z")
MIN_SPLIT = 4


@functools.cache
def _words_and_names() -> frozenset[str]:
    """Every word and name in the lists, lower case, and of single letters only "a" and "i"."""
    lex = lexicon()
    return frozenset(w for w in lex.common | lex.stop | lex.given | lex.surnames if len(w) > 1) | {"a", "i"}


def no_word(piece: str) -> bool:
    """A piece of letters that is no word and no name: "lt", "K", not "a", "Ho" only if it is in no list."""
    return fold(piece) not in _words_and_names()


def split_names(text: str) -> list[NameMention]:
    """Names split in two by whitespace, each named with one space between its pieces, as a reviewer reads it."""
    pieces = {piece.lower() for piece in _PIECE.findall(text)} - _words_and_names()
    unknown = {piece for piece in pieces if piece.isascii() or no_word(piece)}  # "siân" is "sian"
    if not unknown:
        return []  # most texts: every piece is a word or a name
    given, surnames = _lowercase_names()
    found: dict[int, NameMention] = {}
    for m in _PIECE.finditer(text):
        if m.group().lower() not in unknown or re.match(r"[\w'’@#.*-]", text[m.start() - 1 : m.start()]):
            continue  # a piece of a longer token: "s" of "St Mark's church"
        pairs = []
        before = _PIECE_BEFORE.search(text, max(0, m.start() - 40), m.start())
        if before and before.group(2):
            pairs.append((before.start(1), m.end()))
        gap = _SPLIT_GAP.match(text, m.end())
        after = _PIECE.match(text, gap.end()) if gap.group() else None
        if after and not re.match(r"[\w'’@-]", text[after.end() : after.end() + 1]):
            pairs.append((m.start(), after.end()))
        for start, end in pairs:
            pieces = text[start:end].split()
            joined = fold("".join(pieces))
            if len(pieces) == 2 and len(joined) >= MIN_SPLIT and (joined in given or joined in surnames):
                found[start] = NameMention(" ".join(pieces), start, end)
    return list(found.values())


def find_names(text: str) -> list[NameMention]:
    """Every person-name mention in text, tuned for recall: a reviewer dismisses the extras.

    Names are found in the folded text (stories/folding.py), as the redactor matches them, so a
    name written with an invisible character or look-alike letters is found like any other; each
    mention is named as a reader would read it ("Ｋｙｌｅ" as "Kyle") with the original's offsets.
    """
    folded = folding.fold(text)
    found = _find_folded(folded.text)
    if not folded.unchanged:
        found = _merged(found, [*_spelled_out(folded), *_disguised(folded)])
    return [_as_written(folded, m) for m in found]


def _merged(found: list[NameMention], more: list[NameMention]) -> list[NameMention]:
    """found, with each of more that overlaps none of them, in order."""
    kept = [m for m in more if not any(m.start < other.end and other.start < m.end for other in found)]
    return sorted([*found, *kept], key=lambda m: m.start) if kept else found


def _spelled_out(folded: folding.Folded) -> list[NameMention]:
    """A word spelled out letter by letter ("N-K-E-M-E-L-U") is almost always a name; not a known word or an acronym."""
    lex = lexicon()
    words = [(folded.text[start:end], start, end) for start, end in folded.spelled]
    return [
        NameMention(word, start, end)
        for word, start, end in words
        if word.lower() not in lex.common
        and word.lower() not in lex.stop
        and word.upper() not in lex.stop_acronyms
        and _VOWEL.search(word)  # "R.S.V.P.", "B.B.C.": an acronym
    ]


_VOWEL = re.compile("[aeiouy]", re.IGNORECASE)


def _disguised(folded: folding.Folded) -> list[NameMention]:
    """A name in letters drawn like others ("🅜🅐🅡🅚", "ᴍᴀʀᴋ"), even one that is also an everyday word: written to be missed."""
    if not any(folding.disguised(char) for char in set(_NON_ASCII.findall(folded.original))):
        return []
    found = []
    for m in _LETTER_RUN.finditer(folded.text):
        start, end = folded.span(m.start(), m.end())
        if _is_known_name(m.group()) and any(folding.disguised(char) for char in folded.original[start:end]):
            found.append(NameMention(m.group(), m.start(), m.end()))
    return found


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LETTER_RUN = re.compile(r"[^\W\d_]{3,}")


def _as_written(folded: folding.Folded, mention: NameMention) -> NameMention:
    if folded.unchanged:
        return mention
    start, end = folded.span(mention.start, mention.end)
    written = folded.original[start:end]
    return NameMention(written if written == mention.name else folding.readable(written), start, end)


def _find_folded(text: str) -> list[NameMention]:
    found, doubtful = _capitalised_mentions(text)
    known = {fold(m.name) for m in found} | {fold(p) for m in found for p in m.name.split()}
    # A doubtful word is confirmed by another mention of the same word or by a name it is
    # listed with ("Honey and Blue are the twins"); one confirmation can enable another.
    for _ in range(2):
        starts, ends = {m.start for m in found}, {m.end for m in found}
        for m in doubtful:
            if m.start in starts:
                continue
            after = _LISTED_WITH_NAME.match(text, m.end)
            before = re.search(r"(?:,| and| &) $", text[max(0, m.start - 5) : m.start])
            if (
                fold(m.name) in known
                or (after and after.end() - 1 in starts)
                or (before and m.start - len(before.group()) in ends)
            ):
                found.append(m)
                starts.add(m.start)
                known.add(fold(m.name))
    found = [_with_lowercase_surname(text, m) for m in found]
    lower_words = set(_LOWER_RUN.findall(text))
    found += _lowercase_mentions(text, known, lower_words)
    found += _titled_words(text, lower_words)
    # An e-mail or web address or a handle identifies as well as a name.
    found += [NameMention(text[start:end], start, end) for start, end in contacts(text)]
    found += _joined_mentions(text, lower_words)
    found += split_names(text)
    found.sort(key=lambda m: (m.start, -m.end))
    result: list[NameMention] = []
    for m in found:
        if result and m.start < result[-1].end:
            continue
        result.append(m)
    return result


def role_hint(text: str, mention: NameMention) -> str | None:
    """The role a placeholder can keep: "my son Jamie" gives "my son", "Priya, my support
    worker" gives "support worker", "Dr Rahman" gives "doctor"; None when nothing says."""
    after = text[mention.end : mention.end + 60].lower()
    match = _role_before(text, mention.start) or _ROLE_AFTER.match(after)
    if match:
        owner, role = match.group(1), " ".join(match.group(2).split())
        head = role.split()[-1]
        if head in KIN_ROLES and owner in _OWNERS:
            return f"{owner} {role}"
        return role
    title = mention.name.split()[0].rstrip(".").lower()
    return _TITLE_ROLES.get(title)


def suggest_placeholders(text: str, mentions: Iterable[NameMention] | None = None) -> dict[str, str]:
    """A placeholder for every name found, the same for every mention of one person and
    different for different people: {"Jamie": "[my son]", "Bethan Rees": "[support worker]"}."""
    mentions = list(find_names(text) if mentions is None else mentions)
    by_part: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    used: dict[str, int] = {}
    # Longer names first, so "Bethan" reuses the placeholder of "Bethan Rees".
    for m in sorted(mentions, key=lambda m: -len(m.name.split())):
        parts = [fold(p) for p in m.name.split() if p.rstrip(".").lower() not in HONORIFICS]
        if m.name in placeholders:
            continue
        known = next((by_part[p] for p in parts if p in by_part), None)
        if known is None:
            role = role_hint(text, m) or "name"  # DEFAULT_PLACEHOLDER
            used[role] = used.get(role, 0) + 1
            known = f"[{role}]" if used[role] == 1 else f"[{role} {used[role]}]"
        placeholders[m.name] = known
        for p in parts:
            by_part.setdefault(p, known)
    return placeholders


def find_identifiers(text: str) -> list[NameMention]:
    """Phone numbers, e-mail and web addresses, postcodes and NHS numbers: they identify people as surely as names."""
    folded = folding.fold(text)
    return [_as_written(folded, NameMention(m.group(), m.start(), m.end())) for m in IDENTIFIER.finditer(folded.text)]
