"""Whether a new password is strong enough: zxcvbn's estimate, offline, with the lists it ships.

zxcvbn (MIT licence) knows about 30,000 common passwords and common English words, names and
surnames, keyboard patterns, dates and repeats, and is told the account's own words (username,
the person's name, the organisation's name, "storybank") so that they count as the first guesses
they are. zxcvbn still credits each of those words with some strength (more the longer its list),
so a password is also judged with every one of them taken out: what is left must hold on its own.
They are taken out however they are written: in leetspeak ("Pr1tch4rd" is "pritchard") and
backwards ("hcrahctirp"); the rest of the password is judged as typed, digits and all.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MIN_SCORE = 3  # of zxcvbn's 0-4: about 10^8 guesses or more; needs a slow hash (scrypt) to hold offline
CHECKED_LENGTH = 72  # zxcvbn refuses longer input; a longer passphrase is judged by its first 72 characters
# Words anyone guessing at Storybank tries first: its name and the demo's shared password.
SITE_WORDS = ("storybank", "storybank-demo", "demo")
ADVICE = "Try three or four unrelated words, or let a password manager make one."
OWN_WORDS = "It is mostly your name, your username or your organisation's name, which anyone would guess first."
# Shorter parts of the account's words ("of", "St") are left in a password: they are in every phrase.
MIN_OWN_WORD = 3
# The digits and signs a guesser tries for each letter (leetspeak): "Air3s1de" is "aireside".
LEET = {"a": "4@", "e": "3", "i": "1", "l": "1", "o": "0", "s": "5$", "t": "7"}

# zxcvbn keeps the account's own words in a module-level dictionary while it scores a password.
_lock = threading.Lock()


def password_problem(password: str, *, about: Iterable[str] = ()) -> str | None:
    """Why this password would not do, in words for the person choosing it; None if it will.

    `about` is the account's own words: its username, the person's name, its organisation's name and slug.
    """
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters. {ADVICE}"
    if not password.strip():
        return f"A password cannot be only spaces. {ADVICE}"
    words = _account_words([*about, *SITE_WORDS])
    left = _without(words, password)
    with _lock:
        # Judged as typed and as a guesser would also try it: full-width letters as plain ones
        # ("ｐａｓｓｗｏｒｄ１２３"), spaces left out ("p a s s w o r d 1 2"). The weakest reading counts.
        weakest = min(
            (zxcvbn(form[:CHECKED_LENGTH], user_inputs=words) for form in _forms(password) if form),
            key=lambda result: result["score"],
        )
        # And with the account's words taken out: "Aireside Befriending 1" is "  1" to anyone who
        # knows where its user works.
        left_score = zxcvbn(left[:CHECKED_LENGTH], user_inputs=words)["score"] if left.strip() else 0
    if weakest["score"] < MIN_SCORE:
        why = weakest["feedback"]["warning"] or "It is close to words and patterns people often use."
        return f"That password is too easy to guess. {why} {ADVICE}"
    if left_score < MIN_SCORE:
        return f"That password is too easy to guess. {OWN_WORDS} {ADVICE}"
    return None


def _account_words(texts: Iterable[str]) -> list[str]:
    """The account's words whole, folded and word by word ("Aireside Befriending Network" gives
    "aireside" and "befriending" too), longest first, without repeats."""
    words = [word for text in texts for form in _forms(text) for word in [form, *re.split(r"[\W_]+", form)] if word]
    return sorted(dict.fromkeys(words), key=len, reverse=True)


def _without(words: list[str], password: str) -> str:
    """The password, folded, with every account word of MIN_OWN_WORD letters or more taken out wherever it
    stands, forwards or backwards, each letter as itself or its leetspeak stand-ins."""
    folded = unicodedata.normalize("NFKC", password).casefold()
    wanted = [_spelled_any_way(form) for word in words if len(word) >= MIN_OWN_WORD for form in (word, word[::-1])]
    return re.sub("|".join(wanted), "", folded) if wanted else folded


def _spelled_any_way(word: str) -> str:
    """A pattern for the word with each letter or any of its LEET stand-ins ("kevin": "k[e3]v[i1]n")."""
    return "".join(f"[{re.escape(letter + LEET[letter])}]" if letter in LEET else re.escape(letter) for letter in word)


def _forms(text: str) -> list[str]:
    """The text as typed, with compatibility forms folded (NFKC, lower case), and without its spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return list(dict.fromkeys([text, folded, "".join(folded.split())]))
