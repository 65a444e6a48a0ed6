"""The storyteller's own key to their story: a private link and a short code, kept only as hashes.

A link is a long random token (`secrets.token_urlsafe`); the store keeps its SHA-256 alone, and a
lookup is by that hash, so no comparison of secrets happens in Python and nothing in the store opens
the page. The short code is for reading out over the phone: 10 letters and digits no one confuses
(no 0/O, 1/I/L), about 49 bits, also kept hashed and throttled hard since it is short. A link lives
while the story's consent does: it stops working after the consent's review date, when it is
revoked, when a new one is issued for the story (one live link per story) or when the story is
erased. Audit entries name the link's number, never the token or the code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from typing import Any

import sqlite_utils

from stories import audit
from stories.clock import now_iso
from stories.consent import Consent, current_consent
from stories.db import write_transaction
from stories.throttle import Limit, minutes_until_free
from stories.validation import Invalid

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
TOKEN_BYTES = 32

# Rate limits, over WINDOW: failures from one address (a guesser), codes tried everywhere (a guesser
# spread over many addresses: the code is short), and uses of one link (a link that leaked).
WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_ADDRESS = 10
CODE_FAILURES_PER_ADDRESS = 5
CODE_FAILURES_EVERYWHERE = 100
USES_PER_LINK = 60
TOKEN_FAILED, CODE_FAILED, USED = "token_failed", "code_failed", "used"


@dataclasses.dataclass(frozen=True)
class Issued:
    """A link as issued: the only moment its token and code exist outside the storyteller's hands."""

    link_id: int
    story_id: int
    token: str
    code: str
    addressed_to: str  # who gave consent: the storyteller, a parent or guardian, an advocate
    review_on: dt.date


@dataclasses.dataclass(frozen=True)
class Link:
    """A live link, opened: which story it is the key to, and the consent in force."""

    id: int
    story_id: int
    addressed_to: str
    consent: Consent


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def code_hash(code: str) -> str:
    return hashlib.sha256(("code:" + normalise_code(code)).encode()).hexdigest()


def normalise_code(code: str) -> str:
    """A code as typed or heard: spaces, dashes and case do not matter."""
    return "".join(char for char in (code or "").upper() if char.isalnum())[:40]


def grouped(code: str) -> str:
    """The code as printed and read aloud: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def issue(db: sqlite_utils.Database, story_id: int, *, actor: str) -> Issued:
    """A new link for this story, revoking the one before; refused while no consent is in force."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with write_transaction(db):
        terms = _consent(db, story_id)
        if terms is None:
            raise Invalid({"receipt": "This story has no consent in force, so there is nothing to give a receipt for."})
        _revoke(db, story_id, actor)
        link_id = db.execute(
            "INSERT INTO storyteller_links (story_id, token_hash, code_hash, addressed_to, issued_at, issued_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [story_id, token_hash(token), code_hash(code), terms.given_by, now_iso(), actor],
        ).lastrowid
        audit.record(db, actor, "storyteller_link.issued", story_id, link=link_id, addressed_to=terms.given_by)
    return Issued(link_id, story_id, token, code, terms.given_by, terms.review_on)


def revoke(db: sqlite_utils.Database, story_id: int, *, actor: str) -> bool:
    """Stop the story's live link working; returns whether there was one."""
    with write_transaction(db):
        return _revoke(db, story_id, actor)


def _revoke(db: sqlite_utils.Database, story_id: int, actor: str) -> bool:
    live = db.execute("SELECT id FROM storyteller_links WHERE story_id = ? AND revoked_at IS NULL", [story_id]).fetchone()
    if live is None:
        return False
    db.execute("UPDATE storyteller_links SET revoked_at = ? WHERE id = ?", [now_iso(), live[0]])
    audit.record(db, actor, "storyteller_link.revoked", story_id, link=live[0])
    return True


def open_by_token(db: sqlite_utils.Database, token: str, today: dt.date) -> Link | None:
    return _open(db, "token_hash = ?", [token_hash(token)], today)


def open_by_code(db: sqlite_utils.Database, code: str, today: dt.date) -> Link | None:
    if len(normalise_code(code)) != CODE_LENGTH:
        return None
    return _open(db, "code_hash = ?", [code_hash(code)], today)


def open_by_id(db: sqlite_utils.Database, link_id: int, today: dt.date) -> Link | None:
    """A link opened earlier in this browser (its number in a signed cookie): still live, or None."""
    return _open(db, "id = ?", [link_id], today)


def _open(db: sqlite_utils.Database, condition: str, params: list[Any], today: dt.date) -> Link | None:
    """The live link matching, if its story's consent is in force and not past its review date; else None, whatever the reason."""
    # `condition` is one of three fixed strings above, never input.
    row = db.execute(
        f"SELECT id, story_id, addressed_to FROM storyteller_links WHERE {condition} AND revoked_at IS NULL", params
    ).fetchone()
    terms = _consent(db, row[1] if row else -1)  # the same reads whether or not the link exists
    if row is None or terms is None or terms.review_on < today:
        return None
    return Link(row[0], row[1], row[2], terms)


def live_link_issued(db: sqlite_utils.Database, story_id: int) -> str | None:
    """When the story's live link was issued (for the story page), or None."""
    row = db.execute("SELECT issued_at FROM storyteller_links WHERE story_id = ? AND revoked_at IS NULL", [story_id]).fetchone()
    return row[0] if row else None


def _consent(db: sqlite_utils.Database, story_id: int) -> Consent | None:
    return current_consent(db.query("SELECT * FROM consent_events WHERE story_id = ?", [story_id]))


def minutes_to_wait(
    db: sqlite_utils.Database, address: str, moment: dt.datetime, *, link_id: int | None = None, code: bool = False
) -> int | None:
    """How long this address (or this link) must wait before trying again; None if it may go on now."""
    limits: list[Limit] = [("address = ? AND kind IN (?, ?)", [address, TOKEN_FAILED, CODE_FAILED], FAILURES_PER_ADDRESS)]
    if code:
        limits += [
            ("address = ? AND kind = ?", [address, CODE_FAILED], CODE_FAILURES_PER_ADDRESS),
            ("kind = ?", [CODE_FAILED], CODE_FAILURES_EVERYWHERE),
        ]
    if link_id is not None:
        limits.append(("link_id = ? AND kind = ?", [link_id, USED], USES_PER_LINK))
    return minutes_until_free(db, "storyteller_link_attempts", limits, moment, WINDOW)


def note_attempt(db: sqlite_utils.Database, address: str, kind: str, moment: dt.datetime, link_id: int | None = None) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM storyteller_link_attempts WHERE at <= ?", [(moment - WINDOW).isoformat()])
        db.execute(
            "INSERT INTO storyteller_link_attempts (at, address, kind, link_id) VALUES (?, ?, ?, ?)",
            [moment.isoformat(), address, kind, link_id],
        )
