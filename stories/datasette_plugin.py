"""Datasette plugin: serve the published files, swap in each rebuild, and share the app's login.

Registered through the `datasette` entry point in pyproject.toml. The instance folder comes
from STORYBANK_INSTANCE. Privacy comes from what is in each published file; the permission
rules here are a second line (commissioners' file, SQL, shadow tables, downloads).
"""

from __future__ import annotations

import asyncio
import os
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.database import Database
from datasette.utils.asgi import Response
from itsdangerous import BadSignature
from markupsafe import Markup, escape

from stories.auth import SESSION_COOKIE_NAME, SESSION_MAX_AGE, session_serializer, user_for_session
from stories.consent import COMMISSIONERS, PUBLISHED_AUDIENCES
from stories.db import connect
from stories.instance import ENV_VAR, Instance
from stories.roles import Role
from stories.text import paragraphs

METADATA_FILE = Path(__file__).resolve().parent.parent / "datasette-metadata.yml"
SETTINGS: dict[str, bool | int] = {
    "allow_download": False,
    "default_allow_sql": False,
    "allow_csv_stream": False,
    # Facet suggestions cost ~1 s a page on a large file; search stays fast without them.
    "suggest_facets": False,
    "facet_time_limit_ms": 800,
    "sql_time_limit_ms": 3000,
    # Datasette lets browsers and proxies keep a page for 5 s by default: longer than a withdrawal
    # takes to leave the files (about 1 s), so a withdrawn story could still be read from a cache.
    "default_cache_ttl": 0,
}
APP_URL_ENV = "STORYBANK_APP_URL"
DEFAULT_APP_URL = "http://127.0.0.1:5000"
FTS_PREFIX = "stories_fts"
CACHE_KIB = 64 * 1024

_local = threading.local()


class PublishedDatabase(Database):
    """A published file that is replaced (renamed over), never edited: reopen when it changes.

    Datasette keeps one connection per thread; after a rebuild those still read the old,
    unlinked file. Each query checks the file's identity and reconnects when it differs.
    """

    def __init__(self, ds: Any, path: str):
        super().__init__(ds, path=path, is_mutable=True)

    def connect(self, write: bool = False):  # noqa: ANN201 - Datasette's signature
        from stories.sqlite import sqlite3

        if write:
            raise PermissionError("published files are read-only")
        conn = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, check_same_thread=False)
        # A search touches every matching story's row; SQLite's 2 MB default cache makes that a disk
        # read each time. 64 MB per connection brings full-text search on 100,000 stories to ~10 ms.
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        return conn

    def _generation(self) -> tuple[int, int]:
        stat = os.stat(self.path)
        return stat.st_ino, stat.st_mtime_ns

    def _connection(self, generation: tuple[int, int]):  # noqa: ANN202
        key = f"storybank_{self.name}"
        held = getattr(_local, key, None)
        if held is None or held[0] != generation:
            if held is not None:
                held[1].close()
            conn = self.connect()
            self.ds._prepare_connection(conn, self.name)
            held = (generation, conn)
            setattr(_local, key, held)
        return held[1]

    async def execute_fn(self, fn):  # noqa: ANN001, ANN201
        generation = self._generation()
        if self.ds.executor is None:
            return fn(self._connection(generation))
        return await asyncio.get_event_loop().run_in_executor(self.ds.executor, lambda: fn(self._connection(generation)))


def make_datasette(instance: Instance) -> Any:
    """A Datasette on this instance's published files, configured as `storybank serve` runs it."""
    import yaml
    from datasette.app import Datasette

    os.environ[ENV_VAR] = str(instance.root)
    return Datasette(metadata=yaml.safe_load(METADATA_FILE.read_text()), settings=SETTINGS)


def _instance() -> Instance:
    return Instance.from_env()


@hookimpl
def startup(datasette: Any) -> None:
    instance = _instance()
    for audience in PUBLISHED_AUDIENCES:
        if audience in datasette.databases:
            datasette.remove_database(audience)
        path = instance.published_path(audience)
        if not path.exists():
            raise RuntimeError(f"{path} does not exist yet: run `storybank publish` first.")
        datasette.add_database(PublishedDatabase(datasette, str(path)), name=audience)


@hookimpl
def actor_from_request(datasette: Any, request: Any) -> Any:
    cookie = request.cookies.get(SESSION_COOKIE_NAME)
    if not cookie:
        return None

    async def inner() -> dict[str, Any] | None:
        return await asyncio.to_thread(actor_for_cookie, cookie)

    return inner


def actor_for_cookie(cookie: str) -> dict[str, Any] | None:
    instance = _instance()
    try:
        payload = session_serializer(instance.secret_key()).loads(cookie, max_age=int(SESSION_MAX_AGE.total_seconds()))
    except BadSignature:
        return None
    token = payload.get("_user_id") if isinstance(payload, dict) else None
    if not token:
        return None
    db = connect(instance.store_path)
    try:
        user = user_for_session(db, token)
    finally:
        db.close()
    if user is None:
        return None
    return {"id": user.username, "display": user.display_name, "role": user.role.value, "organisation": user.organisation_name}


@hookimpl
def permission_allowed(datasette: Any, actor: Any, action: str, resource: Any) -> bool | None:
    role = Role(actor["role"]) if actor and actor.get("role") in list(Role) else None
    if action == "view-database" and resource == COMMISSIONERS:
        return bool(role and role.can_view_commissioners_file())
    if action in ("view-query", "view-table") and isinstance(resource, tuple) and resource[0] == COMMISSIONERS:
        if not (role and role.can_view_commissioners_file()):
            return False
    if action == "view-table" and isinstance(resource, tuple) and resource[1].startswith(FTS_PREFIX):
        return bool(role and role.can_run_sql())
    if action in ("view-database-download", "view-instance-download"):
        return False
    if action == "execute-sql":
        return bool(role and role.can_run_sql())
    return None


@hookimpl
def forbidden(datasette: Any, request: Any, message: str) -> Any:
    """Someone not logged in tried the commissioners' file: send them to the app's login."""
    if request.actor or not request.path.startswith(f"/{COMMISSIONERS}"):
        return None
    here = f"{request.scheme}://{request.host}{request.full_path}"
    return Response.redirect(f"{_app_url()}/auth/login?next={urllib.parse.quote(here)}")


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
    if actor:
        return [{"href": f"{_app_url()}/", "label": "Storybank app"}, {"href": f"{_app_url()}/auth/logout", "label": "Log out"}]
    return []


@hookimpl
def extra_template_vars(datasette: Any, request: Any) -> dict[str, str]:
    return {"storybank_login_url": f"{_app_url()}/auth/login"}


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str) -> Any:
    """A story's text as paragraphs, as the storyteller told it, rather than one run-on cell."""
    if database in PUBLISHED_AUDIENCES and table == "stories" and column == "body" and isinstance(value, str):
        return Markup("".join(f"<p>{Markup('<br>').join(escape(p).splitlines())}</p>" for p in paragraphs(value)))
    return None


def _app_url() -> str:
    return os.environ.get(APP_URL_ENV, DEFAULT_APP_URL).rstrip("/")
