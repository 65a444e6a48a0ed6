"""Datasette as an outsider meets it: short error pages, no server details, CSV safe in a spreadsheet.

A second Datasette plugin beside stories.datasette_plugin (which serves the files and shares the
login), registered by its own entry point in pyproject.toml. Everything here answers a request
from outside before or after Datasette does, so it holds for every table, query and audience.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import urllib.parse
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.plugins import pm
from datasette.utils.asgi import BadRequest, Base400, Request, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup

from stories.auth import SESSION_COOKIE_NAME
from stories.datasette_plugin import actor_for_cookie
from stories.roles import Role
from stories.spreadsheet import neutralise_csv

log = logging.getLogger("storybank.datasette")

# Datasette's own error handler prints every error, a 404 included, as a rich traceback with each
# frame's local variables (request cookies and rows of the file among them): 28-42 KB of log each.
DEFAULT_ERROR_HANDLER = "datasette.handle_exception"
# Datasette's pages about itself (/-/versions, /-/databases with the files' paths, /-/settings,
# /-/plugins, /-/threads, /-/actor, /-/messages...) are for admins; its assets are for everyone.
SERVER_PAGES = "/-/"
ASSETS = ("/-/static/", "/-/static-plugins/")
READING = ("GET", "HEAD")
TITLES = {
    400: "That question cannot be answered",
    403: "Not allowed",
    404: "Not found",
    405: "Read only",
    500: "Something went wrong",
}
NOTHING_HERE = Markup('There is nothing at this address. <a href="/">See the published stories</a>.')
FACET_KINDS = ("_facet", "_facet_array", "_facet_date")
# SQLite's integers are 64-bit. Datasette hands a filter's number to SQLite as Python read it, so a
# larger one fails there (OverflowError, a 500), as do a digit Python cannot read ("²") and a
# malformed JSON list. Its filters turn these lookups' digits into numbers, and these take a list.
LARGEST, SMALLEST = 2**63 - 1, -(2**63)
NUMERIC_LOOKUPS = ("gt", "gte", "lt", "lte")
LIST_LOOKUPS = ("in", "notin")
LIST_EXAMPLE = "1,2,3 or a JSON list such as [1, 2, 3]"
# ?_timelimit= sets Datasette's time limit for one request: "x" was a server error, and a limit too short
# to answer gave Datasette's "SQL Interrupted" page, which shows the query's SQL. The setting decides.
DROPPED_PARAMETERS = ("_timelimit",)
TOO_LONG = "That took too long to answer. Choose something narrower, or try again in a moment."
THROUGH_EXAMPLE = '{"table": "story_interventions", "column": "intervention_id", "value": 1}'


@hookimpl
def startup(datasette: Any) -> None:
    if pm.has_plugin(DEFAULT_ERROR_HANDLER):
        pm.unregister(name=DEFAULT_ERROR_HANDLER)
    # An empty in-memory database Datasette adds when started without files: not ours to serve.
    if "_memory" in datasette.databases:
        datasette.remove_database("_memory")


@hookimpl
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    """A short page (or JSON) saying what was wrong, and one log line: never a traceback or local variables."""

    async def inner() -> Response:
        status, message, title = _explain(exception)
        where = "" if status < 500 else f" at {_innermost_frame(exception)}"
        log.warning("%s %s %s: %s%s", status, request.method, request.path, type(exception).__name__, where)
        return await error_response(datasette, request, status, message, title)

    return inner


def _explain(exception: Exception) -> tuple[int, str, str | None]:
    if isinstance(exception, Base400):
        said = str(exception.args[0]) if exception.args else ""
        if exception.status == 404 and said in ("", "404"):  # Datasette's bare 404 for an unknown path
            said = NOTHING_HERE
        return exception.status, said, TITLES.get(exception.status)
    if isinstance(exception, DatasetteError):
        # Datasette raises DatasetteError for a request it cannot answer ("Cannot sort table by
        # zzz"), leaving the status at 500 unless told otherwise: it is the request that was wrong.
        if exception.title == "SQL Interrupted":  # Datasette's page for it holds the SQL in a text box
            return 400, TOO_LONG, TITLES[400]
        message = Markup(exception.message) if exception.message_is_html else exception.message
        status = exception.status if exception.status < 500 else 400
        return status, message, exception.title or TITLES.get(status)
    return 500, "Something went wrong on our side. Please try again later.", TITLES[500]


def _innermost_frame(exception: Exception) -> str:
    frames = traceback.extract_tb(exception.__traceback__)
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno}"


async def error_response(datasette: Any, request: Any, status: int, message: str, title: str | None = None) -> Response:
    info = {
        "ok": False,
        "error": str(message.striptags()) if isinstance(message, Markup) else message,
        "status": status,
        "title": title,
    }
    if request.path.endswith(".json"):
        return Response.json(info, status=status)
    template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
    context = dict(info, error=message, urls=datasette.urls, app_css_hash=datasette.app_css_hash(), menu_links=lambda: [])
    return Response.html(await template.render_async(context), status=status)


@hookimpl
def extra_template_vars() -> dict[str, str]:
    """Every page's footer names Datasette's version: not for visitors to look vulnerabilities up by."""
    return {"datasette_version": ""}


@hookimpl(tryfirst=True)
def filters_from_request(request: Any, database: str, table: str, datasette: Any) -> Any:
    """Refuse a malformed ?_through= or ?_facet= clearly, before Datasette fails on it with a server error."""
    for value in request.args.getlist("_through"):
        through = _json(value)
        if not (
            isinstance(through, dict)
            and isinstance(through.get("table"), str)
            and isinstance(through.get("column"), str)
            and isinstance(through.get("value"), str | int | float)
        ):
            raise BadRequest(f"_through needs a table, a column and a value, for example {THROUGH_EXAMPLE}")
    facets = [
        (key, value)
        for key in request.args.keys()
        if key.startswith("_facet") and key != "_facet_size"
        for value in request.args.getlist(key)
    ]

    async def check_facets() -> None:
        columns = set(await datasette.get_database(database).table_columns(table)) if facets else set()
        for key, value in facets:
            config = _json(value) if value.startswith("{") else {"simple": value}
            column = config.get("simple") if isinstance(config, dict) else None
            if key not in FACET_KINDS or column not in columns:
                raise BadRequest(f"There is no column {value!r} to count by here.")

    return check_facets


def _json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return None


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") != "http":
                await app(scope, receive, send)
                return
            path = _raw_path(scope)
            server_page = path.startswith(SERVER_PAGES) and not path.startswith(ASSETS)
            refusal = None
            # "//host/" would be redirected to "//host" (another site) by Datasette's trailing-slash rule.
            if path.startswith(("//", "/\\")) or (server_page and not await _is_admin(scope)):
                refusal = (404, NOTHING_HERE)
            elif scope.get("method") not in READING and not server_page:
                # The files are read-only and no canned query writes: Datasette fails on a POST with a server error.
                refusal = (405, "Published stories can be read here, not changed.")
            elif problem := _filter_problem(scope):
                refusal = (400, problem)
            if refusal:
                request = Request(scope, receive)
                status, message = refusal
                await (await error_response(datasette, request, status, message, TITLES[status])).asgi_send(send)
                return
            scope = _without(scope, DROPPED_PARAMETERS)
            send = _revalidated(send)
            if path.endswith(".csv"):
                await _neutralised_csv(app, scope, receive, send)
                return
            await app(scope, receive, send)

        return guarded

    return wrap


def _filter_problem(scope: dict[str, Any]) -> str | None:
    """Why a filter in the query (?id__gt=, ?story_id__in=...) cannot be asked of SQLite, or None.

    Checked before Datasette reads the query, for every table: it turns the values into numbers
    before any plugin hook runs.
    """
    query = urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    for key, value in query:
        if key.startswith("_") and "__" not in key:  # ?_search=, ?_sort=...: not a filter, as Datasette reads them
            continue
        lookup = key.rpartition("__")[2]
        if lookup in NUMERIC_LOOKUPS and value.isdigit():
            if not value.isascii():  # "²" is a digit to Python's isdigit, which Datasette asks, but no number
                return f"{key} needs a number written with the digits 0 to 9."
            digits = value.lstrip("0") or "0"
            numbers = [int(digits) if len(digits) <= len(str(LARGEST)) else LARGEST + 1]  # Python reads 4,300 digits at most
        elif lookup in LIST_LOOKUPS and value.startswith("["):
            listed = _json(value)
            if not isinstance(listed, list) or not all(isinstance(item, str | int | float | None) for item in listed):
                return f"{key} takes a list of values: {LIST_EXAMPLE}."
            numbers = [item for item in listed if isinstance(item, int)]
        else:
            continue
        if any(not SMALLEST <= number <= LARGEST for number in numbers):
            return f"{key} asks about a number too large to compare: the numbers here go up to {LARGEST:,}."
    return None


def _without(scope: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The request without these query parameters, as if they had not been sent."""
    query = urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if not any(key in names for key, _ in query):
        return scope
    kept = urllib.parse.urlencode([(key, value) for key, value in query if key not in names])
    return {**scope, "query_string": kept.encode("latin-1")}


def _revalidated(send: Any) -> Any:
    """Every answer says no-cache unless Datasette said otherwise (its CSV says nothing): a withdrawn
    story leaves the files within a second, and no browser or proxy may keep it longer."""

    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(key.lower() == b"cache-control" for key, _ in headers):
                message = {**message, "headers": [*headers, (b"cache-control", b"no-cache")]}
        await send(message)

    return sending


def _raw_path(scope: dict[str, Any]) -> str:
    """The path as Datasette routes it: undecoded, so "%2F" stays apart from "/"."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1").partition("?")[0] if raw else scope.get("path", "")


async def _is_admin(scope: dict[str, Any]) -> bool:
    cookie = Request(scope, None).cookies.get(SESSION_COOKIE_NAME)
    actor = await asyncio.to_thread(actor_for_cookie, cookie) if cookie else None
    return bool(actor and Role(actor["role"]).can_inspect_datasette())


async def _neutralised_csv(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Datasette's CSV for a table, row or query, with every formula cell neutralised (stories.spreadsheet)."""
    # ?_trace= shows the CSV inside a web page instead of as a file: drop it so only a file comes back.
    scope = _without(scope, ("_trace",))
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def collect(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            if message["status"] != 200:  # an error page or a redirect, not CSV
                await send(message)
            return
        if start.get("status") != 200 or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            body = neutralise_csv(b"".join(chunks).decode("utf-8")).encode("utf-8")
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

    await app(scope, receive, collect)
