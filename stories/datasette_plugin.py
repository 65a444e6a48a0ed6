"""Datasette plugin: serve the published files, swap in each rebuild, and share the app's login.

Registered through the `datasette` entry point in pyproject.toml. The instance folder comes
from STORYBANK_INSTANCE. Privacy comes from what is in each published file; the permission
rules here are a second line (commissioners' file, SQL, shadow tables, downloads).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.database import Database
from datasette.utils import derive_named_parameters, path_with_removed_args, urlsafe_components
from datasette.utils.asgi import Response
from itsdangerous import BadSignature
from markupsafe import Markup

from stories import published_pages as pages
from stories.auth import SESSION_COOKIE_NAME, SESSION_MAX_AGE, session_serializer, user_for_session
from stories.consent import COMMISSIONERS, PUBLISHED_AUDIENCES
from stories.db import connect
from stories.instance import ENV_VAR, Instance
from stories.roles import Role

ROOT = Path(__file__).resolve().parent.parent
METADATA_FILE = ROOT / "datasette-metadata.yml"
# Datasette's own templates, overridden where a commissioner or the public reads (questions, a story,
# the front page); `storybank datasette` passes both folders, as make_datasette does.
TEMPLATE_DIR = ROOT / "templates" / "datasette"
STATIC_MOUNT = ("static", ROOT / "static")  # served at /static/, as the app serves it
CSS_URL = "/static/datasette.css"
PLUGIN = "storybank"  # the plugins.storybank block of the metadata: the questions' choices and headings
# A published list column (a JSON array) and, where each item can be followed, the question it leads to.
LIST_COLUMNS = {
    "interventions": ("stories_by_intervention", "intervention"),
    "contracts": ("contract_evidence", "contract"),
    "outcomes": None,
    "providers": None,
    "commissioners": None,
}
STORY_OUTCOMES_SQL = """
select domain_label, direction, provenance, evidence, contribution, contribution_statement, intervention_id, intervention,
contract_ref from story_outcomes where story_id = :id order by framework != 'ons-wellbeing', domain_label"""
STORY_INTERVENTIONS_SQL = """
select interventions.id, name, provider, commissioner, contract_ref
from story_interventions join interventions on interventions.id = story_interventions.intervention_id
where story_interventions.story_id = :id order by name"""
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
# How long a page waits for a change cut short by a crash to be rolled back, looking every tenth of a second.
CUT_SHORT_WAIT_SECONDS, CUT_SHORT_POLL_SECONDS = 5.0, 0.1

_local = threading.local()


class PublishedDatabase(Database):
    """A published file, renamed over by a rebuild and changed where it lies by a change: reopen when it changes.

    Datasette keeps one connection per thread; after a rebuild those still read the old,
    unlinked file. Each query checks the file's identity and reconnects when it differs.
    """

    def __init__(self, ds: Any, path: str):
        super().__init__(ds, path=path, is_mutable=True)

    def connect(self, write: bool = False):  # noqa: ANN201 - Datasette's signature
        from stories.sqlite import read_published

        if write:
            raise PermissionError("published files are read-only")
        conn = read_published(self.path, check_same_thread=False)
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
        from stories.sqlite import sqlite3

        waited = 0.0
        while True:
            try:
                return await self._run(fn)
            except sqlite3.OperationalError as error:
                # A change its process died in leaves its journal: SQLite refuses a read-only reader
                # until a writer rolls it back (`storybank serve` looks twice a second). Wait, not 500.
                if not self._change_cut_short(error) or waited >= CUT_SHORT_WAIT_SECONDS:
                    raise
            await asyncio.sleep(CUT_SHORT_POLL_SECONDS)
            waited += CUT_SHORT_POLL_SECONDS

    async def _run(self, fn):  # noqa: ANN001, ANN202
        generation = self._generation()
        if self.ds.executor is None:
            return fn(self._connection(generation))
        return await asyncio.get_event_loop().run_in_executor(self.ds.executor, lambda: fn(self._connection(generation)))

    def _change_cut_short(self, error: Exception) -> bool:
        journal = Path(f"{self.path}-journal")
        return getattr(error, "sqlite_errorname", "") == "SQLITE_READONLY" and journal.exists()


def make_datasette(instance: Instance) -> Any:
    """A Datasette on this instance's published files, configured as `storybank serve` runs it."""
    import yaml
    from datasette.app import Datasette

    os.environ[ENV_VAR] = str(instance.root)
    return Datasette(
        metadata=yaml.safe_load(METADATA_FILE.read_text()),
        settings=SETTINGS,
        template_dir=str(TEMPLATE_DIR),
        static_mounts=[(STATIC_MOUNT[0], str(STATIC_MOUNT[1]))],
    )


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
def extra_css_urls() -> list[str]:
    return [CSS_URL]


@hookimpl
def extra_template_vars(
    datasette: Any, request: Any, database: str | None, table: str | None, view_name: str, template: str
) -> Any:
    """What the Storybank pages add to Datasette's: the story page, a question's choices, and, for anyone
    but an admin, no schema SQL and no emoji padlock (many browsers have no font for it)."""

    async def inner() -> dict[str, Any]:
        found: dict[str, Any] = {
            "storybank_login_url": f"{_app_url()}/auth/login",
            "storybank_private": database == COMMISSIONERS,
            "private": False,  # Datasette's "🔒": the base template says it in words, with a drawn padlock
        }
        if not _may_run_sql(request.actor if request else None):
            found.update(table_definition=None, view_definition=None)
        if view_name == "index" and request is not None:
            found["storybank_questions"] = {
                audience: await _questions(datasette, audience, request.actor) for audience in PUBLISHED_AUDIENCES
            }
        if database not in PUBLISHED_AUDIENCES or request is None:
            return found
        if view_name == "row" and table == "stories":
            found["storybank_story"] = await _story(datasette, database, request)
        elif template.startswith("query") and request.url_vars.get("table"):
            found["storybank_question"] = await _question(datasette, database, request.url_vars["table"], request)
        return found

    return inner


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """Lists as lists, a story's opening rather than all of it, a question's story titles as links."""
    if database not in PUBLISHED_AUDIENCES or not isinstance(value, str):
        return None
    if table == "stories" and column == "body":
        return pages.excerpt(value)
    if column in LIST_COLUMNS and (items := pages.as_list(value)) is not None:
        leads_to = LIST_COLUMNS[column]
        link = f"{datasette.urls.query(database, leads_to[0])}?{leads_to[1]}=" if leads_to else None
        return pages.bullet_list(items, link)
    if column == "contribution" and (words := pages.contribution_in_words(value)):
        return words
    if table is None and column == "title" and "story_id" in row.keys():
        return Markup('<a href="{}">{}</a>').format(datasette.urls.row(database, "stories", str(row["story_id"])), value)
    return None


def _may_run_sql(actor: dict[str, Any] | None) -> bool:
    role = actor.get("role") if actor else None
    return role in list(Role) and Role(role).can_run_sql()


async def _story(datasette: Any, database: str, request: Any) -> dict[str, Any] | None:
    """A story's page: its text with the evidence marked, its outcomes, interventions and consent in words."""
    pks = urlsafe_components(request.url_vars["pks"])
    if len(pks) != 1 or not pks[0].isdigit():
        return None
    db = datasette.get_database(database)
    params = {"id": int(pks[0])}
    story = (await db.execute("select * from stories where id = :id", params)).first()
    if story is None:
        return None
    outcomes = [dict(row) for row in (await db.execute(STORY_OUTCOMES_SQL, params)).rows]
    quotes = [(o["evidence"], f"{o['domain_label']}: {o['direction']}") for o in outcomes]
    return {
        "row": dict(story),
        "body": pages.story_body(story["body"] or "", quotes),
        "outcomes": [{**o, "contribution_words": pages.contribution_in_words(o["contribution"])} for o in outcomes],
        "interventions": [dict(row) for row in (await db.execute(STORY_INTERVENTIONS_SQL, params)).rows],
        "identity": pages.identity_in_words(story["identity_level"]),
        "audience": pages.AUDIENCE_WORDS[database],
        "contract_url": datasette.urls.query(database, "contract_evidence"),
    }


async def _questions(datasette: Any, database: str, actor: dict[str, Any] | None) -> list[dict[str, str]]:
    """A file's questions as the front page lists them: title, what it answers, where it is."""
    if database not in datasette.databases:
        return []
    queries = await datasette.get_canned_queries(database, actor)
    return [
        {
            "title": query.get("title") or name,
            "description": query.get("description", ""),
            "url": datasette.urls.query(database, name),
        }
        for name, query in queries.items()
    ]


_choices_cache: dict[tuple[str, tuple[int, int], str], tuple[tuple[str, str], ...]] = {}


async def _options(datasette: Any, database: str, name: str, sql: str) -> tuple[tuple[str, str], ...]:
    """A choice's list, read from the file once for each version of it (a rebuild is a new file)."""
    db = datasette.get_database(database)
    generation = db._generation() if isinstance(db, PublishedDatabase) else (0, 0)
    key = (database, generation, name)
    if key not in _choices_cache:
        rows = (await db.execute(sql)).rows
        if len(_choices_cache) > 64:  # old versions of the files
            _choices_cache.clear()
        _choices_cache[key] = tuple((str(value), str(label)) for value, label in rows if value is not None)
    return _choices_cache[key]


async def _question(datasette: Any, database: str, name: str, request: Any) -> dict[str, Any] | None:
    """A canned question as a form of lists, what its answer means, and, when nothing answers, what to try."""
    query = await datasette.get_canned_query(database, name, request.actor)
    if query is None:
        return None
    config = datasette.plugin_config(PLUGIN) or {}
    db = datasette.get_database(database)
    # Each parameter once, in the order the question first uses it.
    names = list(dict.fromkeys(n for n in await derive_named_parameters(db, query["sql"]) if not n.startswith("_")))
    asked = {n: request.args.get(n) or "" for n in names}
    choices = []
    for parameter in names:
        spec = config.get("choices", {}).get(parameter)
        if spec is None:
            continue
        options = await _options(datasette, database, parameter, spec["sql"])
        choice = pages.Choice(parameter, spec["label"], spec["any"], spec["says"], options, asked[parameter])
        if not choice.known and spec.get("reads"):
            read = {str(row[0]) for row in (await db.execute(spec["reads"], {"typed": choice.value})).rows}
            choice = dataclasses.replace(choice, read_as=tuple(value for value, _ in options if value in read))
        choices.append(choice)

    async def when_empty() -> list[pages.Relaxed]:
        """The same question with each choice in turn set back to "any", where that finds answers."""
        counts: dict[str, int] = {}
        hrefs: dict[str, str] = {}
        for choice in choices:
            if choice.value:
                relaxed = {**asked, choice.name: ""}
                counts[choice.name] = (await db.execute(f"select count(*) from ({query['sql']})", relaxed)).single_value()
                hrefs[choice.name] = datasette.urls.path(path_with_removed_args(request, {choice.name}))
        return pages.relaxations(choices, counts, hrefs)

    return {
        "choices": choices,
        "asked": pages.question_in_words(choices),
        "unknown": [choice for choice in choices if not choice.known],
        "headings": config.get("headings", {}),
        "means": query.get("means", ""),
        "row_words": query.get("row_words", ["answer", "answers"]),
        "answer_rows": config["answer_rows"],  # datasette-metadata.yml: the questions' SQL asks for one more
        "when_empty": when_empty,
        "may_see_sql": _may_run_sql(request.actor),
    }


def _app_url() -> str:
    return os.environ.get(APP_URL_ENV, DEFAULT_APP_URL).rstrip("/")
