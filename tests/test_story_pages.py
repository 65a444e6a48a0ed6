"""The story list's pages, clicked through as a person does (issue 18: pages read from where the last ended)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

import stories.web.stories_views
from conftest import story_form
from stories.records import list_stories, record_story

SIZE = 7  # stories a page, so a few dozen make several pages


@pytest.fixture
def many(db, orgs, monkeypatch):
    """30 stories, several told on the same day (the list breaks ties newest recorded first)."""
    monkeypatch.setattr(stories.web.stories_views, "PAGE_SIZE", SIZE)
    for n in range(30):
        told = (dt.date(2025, 1, 1) + dt.timedelta(days=n // 3)).isoformat()
        record_story(db, story_form(title=f"Story number {n}", told_on=told), organisation_id=orgs["a"], actor="t")


def titles(page: str) -> list[str]:
    return re.findall(r">(Story number \d+)</a>", page)


def link(page: str, words: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)">{words}</a>', page)
    return html.unescape(found[1]) if found else None


def walk(client, url: str, words: str) -> list[tuple[str, list[str]]]:
    """Each page's position ("page 2 of 5") and stories, following the link named `words` to the end."""
    seen = []
    while url:
        page = client.get(url).get_data(as_text=True)
        seen.append((re.search(r"page \d+ of \d+", page)[0], titles(page)))
        url = link(page, words)
    return seen


def test_clicking_older_then_newer_shows_every_story_once_in_order(client, auth, db, orgs, many):
    auth.login("worker")
    newest_first = [story["title"] for story in list_stories(db, orgs["a"])]
    forward = walk(client, "/stories/", "Older stories")
    assert [where for where, _ in forward] == [f"page {n} of 5" for n in range(1, 6)]
    assert [title for _, page in forward for title in page] == newest_first
    last = client.get("/stories/?page=5").get_data(as_text=True)  # a page asked for by number, as bookmarked
    back = walk(client, link(last, "Older stories") or "/stories/?page=5", "Newer stories")
    assert back == forward[::-1]


def test_a_story_recorded_while_someone_pages_through_neither_repeats_nor_hides_one(client, auth, db, orgs, many):
    auth.login("worker")
    before = [story["title"] for story in list_stories(db, orgs["a"])]
    first = client.get("/stories/").get_data(as_text=True)
    record_story(db, story_form(title="Story number 99", told_on="2025-12-31"), organisation_id=orgs["a"], actor="t")
    rest = walk(client, link(first, "Older stories"), "Older stories")
    assert titles(first) + [title for _, page in rest for title in page] == before  # no story twice, none missed
    second = client.get(link(first, "Older stories")).get_data(as_text=True)
    back = walk(client, link(second, "Newer stories"), "Newer stories")
    assert back[0][1] == before[:SIZE]  # the page before the second is the first as it was seen
    assert back[-1] == ("page 1 of 5", ["Story number 99", *before[: SIZE - 1]])  # then the newest, the new story on top


def test_a_filter_pages_by_the_same_links_and_junk_in_a_link_is_the_first_page(client, auth, db, orgs, many):
    auth.login("worker")
    first = client.get("/stories/?status=submitted").get_data(as_text=True)
    older = link(first, "Older stories")
    assert "status=submitted" in older and "after=" in older
    walked = walk(client, "/stories/?status=submitted", "Older stories")
    assert [title for _, page in walked for title in page] == [
        story["title"] for story in list_stories(db, orgs["a"], status="submitted")
    ]
    newest = titles(client.get("/stories/").get_data(as_text=True))
    for junk in ("after=2025-01-01", "before=x_1", "after=2025-01-01_1%27%20OR%201=1", "page=abc&after="):
        assert titles(client.get(f"/stories/?{junk}").get_data(as_text=True)) == newest
