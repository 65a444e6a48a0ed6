"""The Storybank web app: `create_app()` builds it (Flask(__name__) here so templates/ is found)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from stories.auth import SESSION_COOKIE_NAME, SESSION_MAX_AGE
from stories.instance import Instance

TRUSTED_PROXIES_ENV = "STORYBANK_TRUSTED_PROXIES"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    instance = Instance.from_env((test_config or {}).get("INSTANCE"))
    app.config.from_mapping(
        INSTANCE=str(instance.root),
        SECRET_KEY=instance.secret_key() if instance.secret_key_path.exists() else None,
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("STORYBANK_HTTPS") == "1",
        PERMANENT_SESSION_LIFETIME=SESSION_MAX_AGE,
        # A form's CSRF token lives as long as the login, so a long story typed slowly is not refused.
        WTF_CSRF_TIME_LIMIT=None,
        # A form without a file is far smaller; the forms that take files allow more (stories/web/uploads.py).
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        DATASETTE_URL=os.environ.get("STORYBANK_DATASETTE_URL", "http://127.0.0.1:8001"),
    )
    if test_config:
        app.config.update(test_config)
    if not app.config["SECRET_KEY"]:
        raise RuntimeError(f"No secret key in {instance.root}: run `storybank init` first.")

    proxies = _trusted_proxies()
    if proxies:
        # Behind that many proxies of our own, the client's address (for login throttling) is the one
        # they add to X-Forwarded-For. With none, the header is ignored: anyone could write any address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    from stories import web

    web.init_app(app)
    return app


def _trusted_proxies() -> int:
    value = os.environ.get(TRUSTED_PROXIES_ENV, "0").strip() or "0"
    if not value.isdigit():
        raise RuntimeError(
            f"{TRUSTED_PROXIES_ENV} must be the number of proxies in front of the app (0, 1, 2...), not {value!r}."
        )
    return int(value)
