"""Whether a new password is strong enough: zxcvbn's estimate, offline, with the lists it ships.

zxcvbn (MIT licence) knows about 30,000 common passwords and common English words, names and
surnames, keyboard patterns, dates and repeats, and is told the account's own words (username,
display name, "storybank") so that they count as the first guesses they are.
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

# zxcvbn keeps the account's own words in a module-level dictionary while it scores a password.
_lock = threading.Lock()


def password_problem(password: str, *, about: Iterable[str] = ()) -> str | None:
    """Why this password would not do, in words for the person choosing it; None if it will."""
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters. {ADVICE}"
    if not password.strip():
        return f"A password cannot be only spaces. {ADVICE}"
    # The account's own words whole, folded and word by word ("Aireside Befriending Network" gives
    # "aireside" and "befriending" too), so a password made of them is judged as guessable as it is.
    words = [word for text in (*about, *SITE_WORDS) for form in _forms(text) for word in [form, *re.split(r"\W+", form)] if word]
    with _lock:
        # Judged as typed and as a guesser would also try it: full-width letters as plain ones
        # ("ｐａｓｓｗｏｒｄ１２３"), spaces left out ("p a s s w o r d 1 2"). The weakest reading counts.
        results = [zxcvbn(form[:CHECKED_LENGTH], user_inputs=words) for form in _forms(password) if form]
    weakest = min(results, key=lambda result: result["score"])
    if weakest["score"] >= MIN_SCORE:
        return None
    why = weakest["feedback"]["warning"] or "It is close to words and patterns people often use."
    return f"That password is too easy to guess. {why} {ADVICE}"


def _forms(text: str) -> list[str]:
    """The text as typed, with compatibility forms folded (NFKC, lower case), and without its spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return list(dict.fromkeys([text, folded, "".join(folded.split())]))
