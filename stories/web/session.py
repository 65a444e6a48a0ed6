"""Session cookies signed the way the Datasette plugin can read them (see stories.auth)."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from stories.auth import session_serializer


class SharedSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = app.secret_key if isinstance(app.secret_key, bytes) else app.secret_key.encode()
        return session_serializer(key)
