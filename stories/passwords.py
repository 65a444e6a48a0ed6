"""Whether a new password is strong enough: zxcvbn's estimate, offline, with the lists it ships.

zxcvbn (MIT licence) knows about 30,000 common passwords and common English words, names and
surnames, keyboard patterns, dates and repeats, and is told the account's own words (username,
display name, "storybank") so that they count as the first guesses they are.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MIN_SCORE = 3  # of zxcvbn's 0-4: about 10^8 guesses or more; needs a slow hash (scrypt) to hold offline
CHECKED_LENGTH = 72  # zxcvbn refuses longer input; a longer passphrase is judged by its first 72 characters
SITE_WORDS = ("storybank",)
ADVICE = "Try three or four unrelated words, or let a password manager make one."

# zxcvbn keeps the account's own words in a module-level dictionary while it scores a password.
_lock = threading.Lock()


def password_problem(password: str, *, about: Iterable[str] = ()) -> str | None:
    """Why this password would not do, in words for the person choosing it; None if it will."""
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters. {ADVICE}"
    if not password.strip():
        return f"A password cannot be only spaces. {ADVICE}"
    with _lock:
        result = zxcvbn(password[:CHECKED_LENGTH], user_inputs=[word for word in (*about, *SITE_WORDS) if word])
    if result["score"] >= MIN_SCORE:
        return None
    why = result["feedback"]["warning"] or "It is close to words and patterns people often use."
    return f"That password is too easy to guess. {why} {ADVICE}"
