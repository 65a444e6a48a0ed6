"""Datasette on the published files: what the public and commissioners can and cannot reach."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
import urllib.parse
from types import SimpleNamespace

import pytest

from conftest import datasette_get, story_form, wait_for
from pipelines.publish import run_publish
from stories.auth import list_users, session_serializer, start_session
from stories.datasette_plugin import make_datasette
from stories.instance import Instance
from stories.records import approve_story, decide_name, record_story


@pytest.fixture
def published(instance, db, orgs, users, signed_form):
    def add(title, audiences):
        form = story_form(title=title, audiences=audiences, evidence_file=signed_form())
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
        decide_name(db, story_id, "Priya", "keep", actor="t")
        approve_story(db, story_id, actor="t", user_id=users["reviewer"])

    add("Open to everyone", ["team", "commissioners", "public"])
    add("Only for commissioners", ["team", "commissioners"])
    add("Only for the team", ["team"])
    run_publish(instance)
    return instance


def titles(response):
    return [row["title"] for row in response.json()["rows"]]


def test_the_public_finds_a_consented_story_and_not_an_unconsented_one(published):
    ds = make_datasette(published)
    response = datasette_get(ds, "/public/stories.json?_shape=objects&_search=lunch")
    assert titles(response) == ["Open to everyone"]
    assert datasette_get(ds, "/public/stories.json?_shape=objects&_search=commissioners").json()["rows"] == []


def test_no_page_may_be_kept_by_a_browser_or_proxy_longer_than_a_withdrawal_takes(published):
    # Found from outside: public pages said max-age=5, so a withdrawn story could be read from a cache.
    ds = make_datasette(published)
    for path in ("/public/stories", "/public/stories.json", "/public/stories/1.json", "/public/stories.csv"):
        cache = datasette_get(ds, path).headers.get("cache-control", "")
        assert any(word in cache for word in ("no-cache", "no-store", "max-age=0")), (path, cache)


def test_the_commissioners_file_refuses_an_anonymous_visitor(published):
    ds = make_datasette(published)
    response = datasette_get(ds, "/commissioners/stories.json")
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/auth/login?next=" in response.headers["location"]
    assert "Only for commissioners" not in response.text


def test_a_commissioner_logged_into_the_app_sees_the_commissioners_file(published, client, auth):
    auth.login("commissioner")
    cookie = client.get_cookie("storybank_session").value
    ds = make_datasette(published)
    response = datasette_get(ds, "/commissioners/stories.json?_shape=objects", cookies={"storybank_session": cookie})
    assert sorted(titles(response)) == ["Only for commissioners", "Open to everyone"]


def test_a_worker_logged_into_the_app_is_refused_the_commissioners_file(published, client, auth):
    auth.login("worker")
    cookie = client.get_cookie("storybank_session").value
    response = datasette_get(make_datasette(published), "/commissioners/stories.json", cookies={"storybank_session": cookie})
    assert response.status_code == 403


def test_a_forged_cookie_is_ignored(published):
    response = datasette_get(
        make_datasette(published),
        "/commissioners/stories.json",
        cookies={"storybank_session": "eyJfdXNlcl9pZCI6IngifQ.forged.sig"},
    )
    assert response.status_code in (302, 403)


def test_downloads_arbitrary_sql_and_shadow_tables_are_closed(published):
    ds = make_datasette(published)
    assert datasette_get(ds, "/public.db").status_code == 403
    assert datasette_get(ds, "/public.json?sql=select+body+from+stories").status_code == 403
    assert datasette_get(ds, "/public/stories_fts_data.json").status_code == 403
    assert datasette_get(ds, "/public/stories_fts.json").status_code == 403


def test_canned_queries_find_stories_by_outcome_and_intervention(published, db):
    ds = make_datasette(published)
    assert datasette_get(ds, "/public/stories_by_outcome.json?domain=health").status_code == 200
    assert datasette_get(ds, "/public/stories_by_intervention.json?intervention=befriending").status_code == 200


def test_a_new_publish_is_served_without_a_restart(published, db, orgs, users, signed_form):
    ds = make_datasette(published)
    assert titles(datasette_get(ds, "/public/stories.json?_shape=objects")) == ["Open to everyone"]
    form = story_form(title="A brand new story", evidence_file=signed_form())
    story_id = record_story(db, form, organisation_id=orgs["a"], actor="t")
    decide_name(db, story_id, "Priya", "keep", actor="t")
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    run_publish(published)
    assert sorted(titles(datasette_get(ds, "/public/stories.json?_shape=objects"))) == ["A brand new story", "Open to everyone"]


# --- The real `storybank datasette` process, asked what an outsider might ask --------------------------

# (path, the statuses that are a right answer). None of them may be a server error or write a traceback.
OUTSIDER_REQUESTS = [
    ("//", {404}),
    ("//evil.example/x", {404}),
    ("//evil.example/", {404}),  # not a redirect to another site
    ("/\\evil.example/", {404}),
    ("/%2F%2Fevil.example/", {302, 404}),
    ("/nothing-here", {404}),
    ("/%00", {302, 404}),
    ("/public/%00", {302, 404}),
    ("/public/stories%00.json", {302, 404}),
    ("/public/ストーリー", {302, 404}),
    ("/public/\u202estories", {302, 404}),
    ("/_memory", {404}),
    ("/_memory.json?sql=select+1", {404}),
    ("/:memory:", {301, 404}),
    ("/public/-/blob/1", {404}),
    ("/public/stories/-/insert", {404}),
    ("/public/stories/-/upsert", {404}),
    ("/public/-/create", {400, 404}),
    ("/public/stories/1/-/update", {404}),
    ("/public/stories/1/-/delete", {404}),
    ("/public/stories/99999999999999999999999", {404}),
    ("/public/stories/-1", {404}),
    ("/public/stories?_sort=zzz", {400}),
    ("/public/stories?_sort_desc=zzz", {400}),
    ("/public/stories?_sort=id&_sort_desc=id", {400}),
    ('/public/stories?_through={"table":"x"}', {400}),
    ("/public/stories?_through=not-json", {400}),
    ('/public/stories?_through={"table":"story_interventions","column":"zzz","value":1}', {400}),
    ('/public/stories?_through={"table":"story_interventions","column":"intervention_id","value":{"a":1}}', {400}),
    ('/public/stories?_through={"table":"stories_fts_data","column":"id","value":1}', {403}),
    ('/public/stories?_through={"table":"nope","column":"id","value":1}', {400, 404}),
    ("/public/stories?_facet=zzz", {400}),
    ("/public/stories?_facet_array=zzz", {400}),
    ("/public/stories?_facet_zzz=title", {400}),
    ('/public/stories?_facet={"simple":', {400}),
    ('/public/stories?_facet={"simple":"area"}', {200}),
    ("/public/stories?_facet=area&_facet_size=zzz", {200}),
    ("/public/story_outcomes?_facet=contract_ref&_facet_array=zzz", {400}),
    ("/public/stories?_where=1=1", {403}),
    ("/public/stories?_where=id>0&_where=1", {403}),
    ("/public/stories?sql=select+body+from+stories_fts_data", {200}),  # sql= means nothing on a table page
    ("/public.json?sql=select+1", {403}),
    ("/public.csv?sql=select+1", {403}),
    ("/public/stories?_size=100000", {400}),
    ("/public/stories?_size=-1", {400}),
    ("/public/stories?_size=abc", {400}),
    ("/public/stories?_next=zzz", {200, 400}),
    ("/public/stories?_next=99999999999999999999999", {200, 400}),
    ("/public/stories?_sort=told_on&_next=zzz", {200, 400}),
    ("/public/stories?_search=%22", {200, 400}),
    ("/public/stories?_searchmode=raw&_search=%22", {200, 400}),
    ("/public/stories?_search=" + "a" * 5000, {200}),
    ("/public/stories?_col=zzz", {400}),
    ("/public/stories?_nocol=zzz", {400}),
    ("/public/stories?year__gt=abc", {200, 400}),
    ("/public/stories?year__zzz=1", {200, 400}),
    ("/public/stories?id__in=1,2,%00", {200, 400}),
    # Found from outside (second round): numbers past SQLite's integers, a digit Python cannot read,
    # a JSON list that is not one, or holds lists, were a 500.
    ("/public/stories.json?id__gt=99999999999999999999999", {400}),
    ("/public/stories?year__gt=99999999999999999999999", {400}),
    ("/public/story_outcomes.json?story_id__gt=99999999999999999999999", {400}),
    ("/public/stories.json?id__gte=" + "9" * 5000, {400}),
    ("/public/stories.json?id__lt=%C2%B2", {400}),
    ("/public/stories.json?id__in=%5B99999999999999999999999%5D", {400}),
    ("/public/stories.json?id__notin=%5B%5B1%5D%5D", {400}),
    ("/public/stories.json?id__in=%5B%7B%22a%22:1%7D%5D", {400}),
    ("/public/stories.json?id__in=%5B", {400}),
    ("/public/stories.json?id__in=%5B1,%22a%22,null,1.5%5D", {200}),
    ("/public/stories.json?id__gt=9223372036854775807", {200}),
    ("/public/stories.json?_shape=zzz", {400}),
    ("/public/stories.zzz", {200, 404}),
    ("/public/stories.csv?_stream=1", {400}),
    ("/public/stories.csv?_size=max&_next=zzz", {200, 400}),
    ("/public/stories?_labels=zzz", {200, 400}),
    ("/public/stories_fts_data", {403}),
    ("/public/stories_fts_idx.csv", {403}),
    ("/public.db", {403}),
    ("/commissioners.db", {302, 403}),
    ("/commissioners/stories.csv", {302, 403}),
    ("/public/stories_by_outcome.json", {200, 400}),
    ("/public/stories_by_outcome.json?domain=%00", {200}),
    # Attack 4: ?_timelimit= is Datasette's own time limit per request; "x" was a 500 and "-1" a page showing the SQL.
    ("/public/stories_by_outcome?_timelimit=x", {200}),
    ("/public/stories?_timelimit=1.5", {200}),
    ("/public/stories_by_outcome?_timelimit=-1", {200}),
    ("/public/stories?_search=lonely&_timelimit=-1", {200}),
    ("/public/contract_evidence.csv?_timelimit=-1", {200}),
    ("/-/databases.json", {404}),
    ("/-/databases", {404}),
    ("/-/versions.json", {404}),
    ("/-/plugins.json", {404}),
    ("/-/settings.json", {404}),
    ("/-/metadata.json", {404}),
    ("/-/config.json", {404}),
    ("/-/config", {404}),
    ("/-/threads.json", {404}),
    ("/-/actor.json", {404}),
    ("/-/messages", {404}),
    ("/-/allow-debug", {404}),
    ("/-/permissions", {404}),
    ("/-/patterns", {404}),
    ("/-/auth-token", {404}),
    ("/-/logout", {404}),
    ("/-/nothing", {404}),
]
POSTS = ["/public/stories", "/public/stories/-/insert", "/-/messages", "/public/stories_by_outcome", "/public.json"]
TRACEBACK_SIGNS = ("Traceback", "│ │", "Exception in ASGI application", 'File "/')


@pytest.fixture(scope="module")
def real_datasette(tmp_path_factory):
    """`storybank datasette` on the demo's published files, with its log, as `storybank serve` runs it."""
    from browser_helpers import free_port, run_storybank, storybank_command

    root = tmp_path_factory.mktemp("outsider")
    env = {**os.environ, "STORYBANK_INSTANCE": str(root / "instance"), "PYTHONUNBUFFERED": "1"}
    env.pop("STORYBANK_JOBS_IMMEDIATE", None)
    run_storybank(["init"], env)
    run_storybank(["demo"], env)
    port = free_port()
    log = root / "datasette.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*storybank_command(), "datasette", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/public.json"), 45, "Datasette to start")
        yield SimpleNamespace(url=url, log=log, instance=Instance(root / "instance"))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        return outsider_request(url).status == 200
    except OSError:
        return False


def outsider_request(url: str, method: str = "GET", cookie: str | None = None) -> SimpleNamespace:
    """One HTTP request exactly as sent (no path normalising, no redirects followed)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    target = "".join(c if c.isascii() else urllib.parse.quote(c) for c in target)  # as a browser sends it
    headers = {"Cookie": f"storybank_session={cookie}"} if cookie else {}
    try:
        connection.request(method, target, body=b"" if method == "POST" else None, headers=headers)
        response = connection.getresponse()
        return SimpleNamespace(
            status=response.status, headers=dict(response.getheaders()), text=response.read().decode("utf-8", "replace")
        )
    finally:
        connection.close()


def admin_cookie(instance: Instance) -> str:
    """A logged-in admin's session cookie, as the app's login would set it."""
    db = instance.open()
    try:
        admin = next(user for user in list_users(db) if user.role == "admin")
        token = start_session(db, admin)
    finally:
        db.close()
    return session_serializer(instance.secret_key()).dumps({"_user_id": token})


def new_log(datasette, request) -> tuple[SimpleNamespace, str]:
    before = datasette.log.stat().st_size
    response = request()
    time.sleep(0.05)  # the access log line follows the response
    with datasette.log.open("rb") as handle:
        handle.seek(before)
        return response, handle.read().decode("utf-8", "replace")


@pytest.mark.parametrize(("path", "expected"), OUTSIDER_REQUESTS, ids=[path[:60] for path, _ in OUTSIDER_REQUESTS])
def test_an_outsider_gets_a_clear_answer_and_the_log_one_line(real_datasette, path, expected):
    response, logged = new_log(real_datasette, lambda: outsider_request(real_datasette.url + path))
    assert response.status in expected, f"{path}: {response.status} {response.text[:300]}"
    assert not any(sign in logged for sign in TRACEBACK_SIGNS), logged[:2000]
    assert len(logged.splitlines()) <= 3, logged[:2000]  # the access line, an error line, at most Datasette's SQL error line
    assert str(real_datasette.instance.root) not in response.text
    location = response.headers.get("location", "")
    assert not location.startswith(("//", "/\\")) and "evil.example" not in location


@pytest.mark.parametrize("path", POSTS)
def test_writing_to_datasette_is_refused_without_a_traceback(real_datasette, path):
    response, logged = new_log(real_datasette, lambda: outsider_request(real_datasette.url + path, method="POST"))
    assert response.status in (403, 404, 405)
    assert not any(sign in logged for sign in TRACEBACK_SIGNS), logged[:2000]


def test_datasettes_pages_about_itself_are_for_admins_only(real_datasette):
    cookie = admin_cookie(real_datasette.instance)
    for page in ("/-/databases.json", "/-/versions.json", "/-/plugins.json", "/-/settings.json", "/-/threads.json"):
        assert outsider_request(real_datasette.url + page).status == 404
        assert outsider_request(real_datasette.url + page, cookie=cookie).status == 200
    paths = outsider_request(real_datasette.url + "/-/databases.json", cookie=cookie).text
    assert str(real_datasette.instance.root) in paths  # the admin sees where the files are; nobody else does
    for page in ("/", "/.json", "/public", "/public.json", "/public/stories", "/public/stories.json", "/public/stories.csv"):
        response = outsider_request(real_datasette.url + page)
        assert response.status == 200 and str(real_datasette.instance.root) not in response.text
        assert "v0.65" not in response.text  # no version for a visitor to look up vulnerabilities by
    assert outsider_request(real_datasette.url + "/-/static/app.css").status == 200


def test_nothing_asked_wrote_a_traceback(real_datasette):
    logged = real_datasette.log.read_text(errors="replace")
    assert not any(sign in logged for sign in TRACEBACK_SIGNS), logged[-3000:]


def test_every_integer_filter_past_sqlites_integers_is_a_plain_400(real_datasette):
    # Found from outside: ?id__gt=99999999999999999999999 was a 500 (OverflowError inside Datasette).
    tables = json.loads(outsider_request(real_datasette.url + "/public.json").text)["tables"]
    asked = 0
    for table in (table for table in tables if not table["hidden"]):
        url = f"{real_datasette.url}/public/{table['name']}"
        columns = json.loads(outsider_request(f"{url}.json?_size=0&_extra=columns").text)["columns"]
        for column in columns:
            for query in (f"{column}__{op}=99999999999999999999" for op in ("gt", "gte", "lt", "lte")):
                response = outsider_request(f"{url}.json?{query}")
                assert response.status == 400, (table["name"], query, response.text[:300])
                assert "too large to compare" in json.loads(response.text)["error"]
                asked += 1
            for op in ("in", "notin"):
                response = outsider_request(f"{url}?{column}__{op}=%5B1,-99999999999999999999%5D")
                assert response.status == 400 and "too large to compare" in response.text, (table["name"], column, op)
                asked += 1
    assert asked > 50
    assert not any(sign in real_datasette.log.read_text(errors="replace") for sign in TRACEBACK_SIGNS)


def test_no_page_shows_a_question_or_search_its_sql_unless_asked_by_an_admin(real_datasette):
    for path in ("/public/stories_by_outcome?_timelimit=-1", "/public/stories?_search=lonely&_timelimit=1"):
        page = outsider_request(real_datasette.url + path).text
        assert "from story_outcomes" not in page and "match escape_fts" not in page and "<textarea" not in page, page[:1500]


def test_a_query_that_takes_too_long_says_so_in_words_without_its_sql():
    from datasette.views.base import DatasetteError

    from stories.datasette_guard import _explain

    interrupted = DatasetteError(
        '<p>SQL query took too long.</p><textarea style="width: 90%">select secret from story_outcomes</textarea>',
        title="SQL Interrupted",
        status=400,
        message_is_html=True,
    )
    status, message, title = _explain(interrupted)
    assert status == 400 and "select" not in str(message) and "textarea" not in str(message)
    assert "took too long" in str(message)
