"""Datasette on the published files: what the public and commissioners can and cannot reach."""

from __future__ import annotations

import pytest

from conftest import datasette_get, story_form
from pipelines.publish import run_publish
from stories.datasette_plugin import make_datasette
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
