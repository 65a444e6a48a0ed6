"""Datasette plugin: a story search reads what a person typed in the words people use, and says when a word names an outcome.

Registered by its own entry point in pyproject.toml. Datasette searches a table with
`fts_table MATCH escape_fts(:search)`; on each published file's connection `escape_fts` is
replaced by stories.search's reading of the query (word families, OR, "phrases", prefix*, and
a word's outcome vocabulary), so the search box keeps what was typed and no typed query is an
FTS5 syntax error. A query word that names an outcome gets a note above the results linking to
the stories tagged with it.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from datasette import hookimpl
from markupsafe import Markup

from stories.consent import PUBLISHED_AUDIENCES
from stories.search import FAMILIES_COLUMN, family, match_expression, plain_words, related_families

SEARCHED_TABLE = "stories"
OUTCOME_QUESTION = "stories_by_outcome"  # a canned question in datasette-metadata.yml
FAMILY_FUNCTION = "outcome_family"  # used by the questions' SQL in datasette-metadata.yml
SHOWN_WORDS = 8  # the other words of an outcome named in the note; the rest are in the vocabulary table


@hookimpl(trylast=True)  # after Datasette's own prepare_connection, which registers its escape_fts
def prepare_connection(conn: Any, database: str) -> None:
    if database not in PUBLISHED_AUDIENCES:
        return
    # A question reads a typed outcome word ("loneliness") through outcome_vocabulary by its word family.
    conn.create_function(FAMILY_FUNCTION, 1, lambda typed: family(typed or ""), deterministic=True)
    if not _has_family_index(conn):
        return  # a file built before word families: Datasette's own escaping still works on it
    related = related_families(conn.execute("SELECT family, framework, rule FROM outcome_vocabulary").fetchall())
    conn.create_function("escape_fts", 1, lambda typed: match_expression(typed or "", related), deterministic=True)


def _has_family_index(conn: Any) -> bool:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(stories_fts)").fetchall()}
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE name = 'outcome_vocabulary'")}
    return FAMILIES_COLUMN in columns and bool(tables)


@hookimpl
def extra_template_vars(template: str, database: str, table: str, view_name: str, request: Any, datasette: Any) -> Any:
    """A note above a story search's results for each typed word that names an outcome (Datasette's own message box)."""
    typed = request.args.get("_search", "") if request is not None else ""
    if view_name != "table" or table != SEARCHED_TABLE or database not in PUBLISHED_AUDIENCES or not typed.strip():
        return {}

    async def inner() -> dict[str, Any]:
        for note in await outcome_notes(datasette, database, typed):
            datasette.add_message(request, note, datasette.INFO)  # shown, and cleared, by this very page
        return {}

    return inner


async def outcome_notes(datasette: Any, database: str, typed: str) -> list[Markup]:
    """One note per typed word that names an outcome: which outcome, a link to its stories, its other words searched."""
    typed_words = {family(word): word for word in plain_words(typed)}
    if not typed_words:
        return []
    db = datasette.get_database(database)
    try:
        named = await db.execute(
            "SELECT DISTINCT family, framework, framework_name, domain, domain_label, rule FROM outcome_vocabulary"
            " WHERE family IN (SELECT value FROM json_each(?)) ORDER BY framework != 'ons-wellbeing', framework, domain",
            [json.dumps(sorted(typed_words))],
        )
    except Exception:  # noqa: BLE001 - a file built before the vocabulary: no notes, the search still works
        return []
    notes = []
    for found, typed_word in typed_words.items():
        outcomes = {(r["framework"], r["domain"]): r for r in named.rows if r["family"] == found}
        if not outcomes:
            continue
        rules = [r["rule"] for r in named.rows if r["family"] == found]
        others = await db.execute(
            "SELECT DISTINCT word FROM outcome_vocabulary WHERE rule IN (SELECT value FROM json_each(?)) AND family != ?"
            " ORDER BY word",
            [json.dumps(rules), found],
        )
        notes.append(_note(datasette, database, typed_word, list(outcomes.values()), [r["word"] for r in others.rows]))
    return notes


def _note(datasette: Any, database: str, typed_word: str, outcomes: list[Any], others: list[str]) -> Markup:
    links = Markup(", ").join(
        Markup('<a href="{}">{}</a>').format(_tagged_url(datasette, database, o), _outcome_name(o)) for o in outcomes
    )
    said = Markup(
        "“{}” names an outcome: {} — follow the link to see how it changed for people, and after which services."
    ).format(typed_word, links)
    if others:
        shown = ", ".join(others[:SHOWN_WORDS]) + ("…" if len(others) > SHOWN_WORDS else "")
        said += Markup(" These results also include its other words ({}); put “{}” in quotes to search for it alone.").format(
            shown, typed_word
        )
    return said


def _outcome_name(outcome: Any) -> str:
    if outcome["framework"] == "ons-wellbeing":
        return outcome["domain_label"]
    return f"{outcome['domain_label']} ({outcome['framework_name']})"


def _tagged_url(datasette: Any, database: str, outcome: Any) -> str:
    """The question "Stories where an outcome changed after a service" with this outcome already chosen."""
    return f"{datasette.urls.query(database, OUTCOME_QUESTION)}?{urllib.parse.urlencode({'domain': outcome['domain']})}"


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    """Every search is read here, whichever way it was asked: ?_searchmode=raw would hand the typed query to
    SQLite as FTS5 syntax, and ?_search_words= / ?_search_stems= would search one index column, where
    the reading's own column filters find nothing (and an outcome word would widen without its note)."""

    def wrap(app: Any) -> Any:
        async def searched_as_typed(scope: dict[str, Any], receive: Any, send: Any) -> None:
            query = scope.get("query_string", b"")
            if scope.get("type") == "http" and b"_search" in query:
                pairs = urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                kept = [("_search" if key.startswith("_search_") else key, value) for key, value in pairs]
                kept = [(key, value) for key, value in kept if key != "_searchmode"]
                scope = {**scope, "query_string": urllib.parse.urlencode(kept).encode("latin-1")}
            await app(scope, receive, send)

        return searched_as_typed

    return wrap
