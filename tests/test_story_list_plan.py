"""The app's story list reads one page of an organisation's stories without sorting all of them (issue 18:
at 10,000 stories the sort took 25 ms a page, the index 0.7 ms; at 100,000 it would be ten times that)."""

from __future__ import annotations

from stories.records import list_stories


def test_a_page_of_the_story_list_is_read_in_order_from_an_index(db, orgs):
    queries: list[tuple[str, list]] = []
    with db.tracer(lambda sql, params: queries.append((sql, list(params or [])))):
        list_stories(db, orgs["a"], limit=50)
    sql, params = queries[-1]
    steps = " / ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
    assert "stories_by_organisation_told_on" in steps
    assert "TEMP B-TREE" not in steps
