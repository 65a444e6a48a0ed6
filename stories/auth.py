"""Accounts, passwords, login throttling and server-side sessions.

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

from stories import audit
from stories.clock import now
from stories.db import write_transaction
from stories.roles import Role
from stories.validation import Invalid

SESSION_COOKIE_NAME = "storybank_session"
SESSION_IDLE_TIMEOUT = dt.timedelta(minutes=30)
SESSION_MAX_AGE = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(minutes=1)
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
PASSWORD_HASH_METHOD = "scrypt"  # werkzeug's memory-hard default; tests lower it for speed
WRONG = "That username and password do not match."
LOCKED = "Too many failed attempts: this account is locked for 15 minutes."


class LoginRefused(Exception):
    """Wrong credentials or a locked account; the message is safe to show."""


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
    db: sqlite_utils.Database, *, username: str, display_name: str, password: str, role: str, organisation_id: int, actor: str
) -> int:
    problems = {}
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        problems["username"] = "A username uses letters, digits, '-', '_' or '.'."
    if role not in list(Role):
        problems["role"] = f"Role must be one of {', '.join(Role)}."
    if len(password) < MIN_PASSWORD_LENGTH:
        problems["password"] = f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
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


def authenticate(db: sqlite_utils.Database, username: str, password: str) -> User:
    """The user these credentials belong to, or LoginRefused (throttled after repeated failures)."""
    moment = now()
    refusal = None
    # Decide inside the transaction, refuse after it: raising inside would roll back the count.
    with write_transaction(db):
        row = db.execute(
            "SELECT id, password_hash, active, failed_logins, locked_until FROM users WHERE username = ?", [username]
        ).fetchone()
        if row is None:
            # Same work and message as a wrong password, so usernames cannot be probed.
            check_password_hash(_dummy_hash(), password)
            refusal = WRONG
        else:
            user_id, password_hash, active, failed, locked_until = row
            if locked_until and dt.datetime.fromisoformat(locked_until) > moment:
                audit.record(db, f"user:{username}", "login.refused_locked")
                refusal = LOCKED
            elif not active or not check_password_hash(password_hash, password):
                failed += 1
                lock = (moment + LOCKOUT).isoformat() if failed >= MAX_FAILED_LOGINS else None
                db.execute(
                    "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?", [0 if lock else failed, lock, user_id]
                )
                audit.record(db, f"user:{username}", "login.failed", locked=bool(lock))
                refusal = LOCKED if lock else WRONG
            else:
                db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", [user_id])
                audit.record(db, f"user:{username}", "login")
    if refusal:
        raise LoginRefused(refusal)
    user = get_user(db, user_id)
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
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method=PASSWORD_HASH_METHOD)
