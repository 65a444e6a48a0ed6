"""The story page's names to decide on are kept between views (issue 18), and never shown out of date.

A kept list that missed a change would show a reviewer fewer names than the story holds: each
change that can add a name (the text, the consent's identity level) and each decision must show on
the very next view of the page.
"""

from __future__ import annotations

import html
import re

import stories.name_reviews
from conftest import story_form, with_signed_form
from stories.records import change_consent


def record(client, **fields) -> int:
    response = client.post("/stories/new", data=with_signed_form(story_form(**fields)))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def listed(client, story_id: int) -> dict[str, str]:
    """Each name the story page asks a reviewer about, with the choice it shows checked ("" for none)."""
    page = html.unescape(client.get(f"/stories/{story_id}").get_data(as_text=True))
    found = {}
    for name, value, checked in re.findall(r'<input type="radio" id="\w+-\d+" name="name-(.*?)" value="(\w+)" ?(checked)?', page):
        found[name] = value if checked else found.get(name, "")
    return found


def test_a_changed_decision_text_or_consent_shows_on_the_next_view(client, auth, db):
    auth.login("reviewer")
    story_id = record(
        client,
        identity_level="first_name",
        storyteller_names="Margaret Holt; Kyle Bradshaw",
        body="Kyle Bradshaw helped me with the forms. Now Priya rings every Tuesday and I feel like myself again.",
    )
    assert listed(client, story_id) == {"Priya": ""}  # Kyle Bradshaw, recorded as hers, is hidden as hers
    assert listed(client, story_id) == {"Priya": ""}  # the kept list, viewed again

    assert client.post(f"/stories/{story_id}/names", data={"name-Priya": "redact"}).status_code == 302
    assert listed(client, story_id) == {"Priya": "redact"}

    db.execute("UPDATE stories SET body = body || ' Janet Pryce came with me.' WHERE id = ?", [story_id])
    assert listed(client, story_id) == {"Priya": "redact", "Janet Pryce": ""}

    # Named: an alias that shares no name with hers is another person's, each mention listed for a decision.
    change_consent(
        db, story_id, "amended", story_form(identity_level="named", storyteller_names="Margaret Holt; Kyle Bradshaw"), actor="t"
    )
    assert listed(client, story_id) == {"Priya": "redact", "Janet Pryce": "", "Kyle Bradshaw": ""}


def test_the_page_reads_the_kept_list_until_something_it_depends_on_changes(client, auth, db, monkeypatch):
    auth.login("reviewer")
    story_id = record(client, body="Now Priya rings every Tuesday and I feel like myself again.")
    assert listed(client, story_id) == {"Priya": ""}
    assert db.execute("SELECT count(*) FROM name_reviews WHERE story_id = ?", [story_id]).fetchone()[0] == 1

    def not_again(story):
        raise AssertionError("the identity rules ran again for an unchanged story")

    monkeypatch.setattr(stories.name_reviews, "names_for_review", not_again)
    assert listed(client, story_id) == {"Priya": ""}
    db.execute("UPDATE stories SET title = 'Janet rings too' WHERE id = ?", [story_id])
    monkeypatch.undo()
    assert listed(client, story_id) == {"Priya": "", "Janet": ""}


def test_an_erased_story_leaves_no_kept_name_review(client, auth, db, instance):
    from stories.services.consent import withdraw_story

    auth.login("reviewer")
    story_id = record(client, body="Now Priya rings every Tuesday and I feel like myself again.")
    assert listed(client, story_id) == {"Priya": ""}
    withdraw_story(instance, story_id, actor="t", reason="asked", erase_story=True)
    assert db.execute("SELECT count(*) FROM name_reviews").fetchone()[0] == 0
