"""Accounts, passwords, logging in and server-side sessions.

A session is a random token whose hash is stored here; the signed cookie holds only the
token. Logging out deletes the row, so a copied cookie stops working. The same cookie is
read by the Datasette plugin, so a commissioner logs in once for both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import secrets
from typing import Any

import sqlite_utils
from itsdangerous import URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from stories import audit, throttle
from stories.clock import now
from stories.db import write_transaction
from stories.passwords import password_problem
from stories.roles import Role
from stories.validation import Invalid

SESSION_COOKIE_NAME = "storybank_session"
SESSION_IDLE_TIMEOUT = dt.timedelta(minutes=30)
SESSION_MAX_AGE = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(minutes=1)
PASSWORD_HASH_METHOD = "scrypt"  # werkzeug's memory-hard default; tests lower it for speed
WRONG = "That username and password do not match."
ANONYMOUS = "anonymous"  # the audit log's actor for a login with an unknown username (never the name typed)


class LoginRefused(Exception):
    """Wrong credentials, or too many attempts from this address; the message is safe to show."""


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    organisation_id: int
    organisation_name: str
    active: bool

    @property
    def actor(self) -> str:
        """How this user appears in the audit log."""
        return f"user:{self.username}"


def session_serializer(secret_key: bytes) -> URLSafeTimedSerializer:
    """Signs the session cookie; shared by the Flask app and the Datasette plugin."""
    return URLSafeTimedSerializer(
        secret_key,
        salt="storybank-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


def add_user(
    db: sqlite_utils.Database,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    organisation_id: int,
    actor: str,
    check_strength: bool = True,
) -> int:
    """A new account; its password must pass stories.passwords (only `storybank demo` sets its shared one unchecked)."""
    problems = {}
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        problems["username"] = "A username uses letters, digits, '-', '_' or '.'."
    if role not in list(Role):
        problems["role"] = f"Role must be one of {', '.join(Role)}."
    organisation = db.execute("SELECT name, slug FROM organisations WHERE id = ?", [organisation_id]).fetchone() or ()
    if check_strength and (problem := password_problem(password, about=(username, display_name, *organisation))):
        problems["password"] = problem
    if problems:
        raise Invalid(problems)
    with write_transaction(db):
        if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise Invalid({"username": f"There is already a user called {username!r}."})
        cursor = db.execute(
            "INSERT INTO users (username, display_name, password_hash, role, organisation_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                username,
                display_name or username,
                generate_password_hash(password, method=PASSWORD_HASH_METHOD),
                role,
                organisation_id,
                now().isoformat(),
            ],
        )
        audit.record(db, actor, "user.add", username=username, role=role)
        return cursor.lastrowid


def get_user(db: sqlite_utils.Database, user_id: int) -> User | None:
    rows = list(db.query(USER_SQL + " WHERE users.id = ?", [user_id]))
    return _user(rows[0]) if rows else None


def list_users(db: sqlite_utils.Database) -> list[User]:
    return [_user(row) for row in db.query(USER_SQL + " ORDER BY organisations.name, users.username")]


def actor_name(db: sqlite_utils.Database, actor: str) -> str:
    """Who an audit actor is, as people know them: a user's display name; anything else (a command) as recorded."""
    if actor.startswith("user:"):
        row = db.execute("SELECT display_name FROM users WHERE username = ?", [actor.removeprefix("user:")]).fetchone()
        if row:
            return row[0]
    return actor


def authenticate(db: sqlite_utils.Database, username: str, password: str, address: str) -> User:
    """The user these credentials belong to, or LoginRefused; attempts are throttled per address (stories.throttle).

    A real and an unknown username, active or not, get the same answers for the same work (one
    password hash each, none once throttled), so neither words nor timing tell which exist.
    """
    moment = now()
    refusal = None
    dummy = _dummy_hash(PASSWORD_HASH_METHOD)  # made on the first login of any kind, so its cost tells nothing
    # Decide inside the transaction, refuse after it: raising inside would roll back the failure.
    with write_transaction(db):
        row = db.execute("SELECT id, password_hash, active FROM users WHERE username = ?", [username]).fetchone()
        actor = f"user:{username}" if row else ANONYMOUS
        wait = throttle.minutes_to_wait(db, username, address, moment)
        if wait:
            audit.record(db, actor, "login.throttled", address=address)
            refusal = throttle.message(wait)
        elif check_password_hash(row[1] if row else dummy, password) and row and row[2]:
            throttle.forget(db, username, address)
            audit.record(db, actor, "login", address=address)
        else:
            throttle.record_failure(db, username, address, moment)
            audit.record(db, actor, "login.failed", address=address)
            wait = throttle.minutes_to_wait(db, username, address, moment)
            refusal = throttle.message(wait) if wait else WRONG
    if refusal:
        raise LoginRefused(refusal)
    user = get_user(db, row[0])
    assert user is not None
    return user


def start_session(db: sqlite_utils.Database, user: User) -> str:
    """A new session token for this user (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    stamp = now().isoformat()
    db.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
        [_hash(token), user.id, stamp, stamp],
    )
    return token


def user_for_session(db: sqlite_utils.Database, token: str, *, touch: bool = True) -> User | None:
    """The user of a live session, or None if it ended, idled out or grew too old."""
    moment = now()
    row = db.execute("SELECT user_id, created_at, last_seen_at FROM sessions WHERE token_hash = ?", [_hash(token)]).fetchone()
    if row is None:
        return None
    user_id, created_at, last_seen_at = row
    if (
        moment - dt.datetime.fromisoformat(last_seen_at) > SESSION_IDLE_TIMEOUT
        or moment - dt.datetime.fromisoformat(created_at) > SESSION_MAX_AGE
    ):
        end_session(db, token)
        return None
    user = get_user(db, user_id)
    if user is None or not user.active:
        return None
    if touch and moment - dt.datetime.fromisoformat(last_seen_at) > TOUCH_EVERY:
        # Written at most once a minute: a write (and its fsync) on every page would serialise them all.
        db.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", [moment.isoformat(), _hash(token)])
    return user


def end_session(db: sqlite_utils.Database, token: str) -> None:
    db.execute("DELETE FROM sessions WHERE token_hash = ?", [_hash(token)])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: dict[str, Any]) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        organisation_id=row["organisation_id"],
        organisation_name=row["organisation_name"],
        active=bool(row["active"]),
    )


USER_SQL = (
    "SELECT users.*, organisations.name AS organisation_name FROM users"
    " JOIN organisations ON organisations.id = users.organisation_id"
)


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash to check an unknown username's password against, made the way real ones are."""
    return generate_password_hash(secrets.token_hex(16), method=method)
