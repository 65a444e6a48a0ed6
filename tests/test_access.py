"""Every route of the app x every kind of visitor: nobody reaches what their role and organisation do not allow.

The matrix is read from the app's own URL map, so a new route without an entry here fails the
test until someone decides who may use it.
"""

from __future__ import annotations

import re

import pytest

from conftest import add_tag, story_form
from stories.commitments import add_commitment
from stories.exports import record_export, request_destruction
from stories.interventions import add_intervention
from stories.job_status import create_job, fail_job
from stories.recordings import add_recording, correct_transcript, save_transcript
from stories.records import approve_story, decide_name, record_story
from stories.storyteller_notices import WITHDREW, notify

PERSONAS = ("anonymous", "worker", "worker_b", "reviewer", "commissioner", "presenter", "admin")
ANYONE = set(PERSONAS)
LOGGED_IN = ANYONE - {"anonymous"}
STORY_TEAM = {"worker", "reviewer"}  # organisation A's story: only A's workers and reviewers
RECORDERS = {"worker", "worker_b", "reviewer"}

# endpoint -> who may reach it, for resources belonging to organisation A.
ALLOWED: dict[str, set[str]] = {
    "static": ANYONE,
    "auth.login": ANYONE,
    "auth.logout": LOGGED_IN,
    "index": LOGGED_IN,
    "stories.index": RECORDERS,
    "stories.new": RECORDERS,
    "consent.due": RECORDERS,
    "stories.view": STORY_TEAM,
    "stories.approve": {"reviewer"},
    "consent.change": STORY_TEAM,
    "consent.withdraw": STORY_TEAM,
    "consent.names": {"reviewer"},
    "recordings.audio": STORY_TEAM,
    "recordings.status": STORY_TEAM,
    "recordings.retry": STORY_TEAM,
    "recordings.transcript": STORY_TEAM,
    "recordings.consent_time": STORY_TEAM,
    "tags.decide": STORY_TEAM,
    "tags.add": STORY_TEAM,
    "tags.suggest": STORY_TEAM,
    "statements.use_proposal": STORY_TEAM,
    "assurance.member_check": STORY_TEAM,
    "assurance.link_outcome": STORY_TEAM,
    "assurance.verify": {"reviewer"},
    "exports.story_csv": STORY_TEAM,
    "exports.index": LOGGED_IN,
    "exports.destroyed": LOGGED_IN,  # acts only on the caller's own copies (see the test below)
    "exports.evaluation_project": {"commissioner", "admin"},  # what the commissioners' file holds, for an evaluator
    "exports.evaluation_codebook": {"commissioner", "admin"},
    "interventions.index": {"worker", "worker_b", "reviewer", "admin"},
    "interventions.new": {"worker", "worker_b", "reviewer", "admin"},
    "interventions.edit": {"worker", "reviewer", "admin"},
    "msc.index": {"reviewer"},
    "msc.round_page": {"reviewer"},
    "msc.seen": LOGGED_IN,  # marks only the caller's own stories' choices as passed on
    "case_studies.index": {"presenter"},
    "case_studies.start": {"presenter"},
    "case_studies.edit": {"presenter"},
    "case_studies.add_quote": {"presenter"},
    "case_studies.remove_quote": {"presenter"},
    "case_studies.export": {"presenter"},
    "case_studies.delete": {"presenter"},
    "dashboard.index": {"commissioner", "reviewer", "admin"},
    # What a contract promised: entered by the intervention's own provider; read beside its evidence by commissioners.
    "commitments.index": {"worker", "reviewer", "admin"},
    "commitments.edit": {"worker", "reviewer", "admin"},
    "commitments.delete": {"worker", "reviewer", "admin"},
    "delivery.index": {"commissioner", "admin"},
    "delivery.board_pack": {"presenter"},
    "receipts.issue": STORY_TEAM,
    "receipts.receipt_pdf": STORY_TEAM,
    "receipts.revoke": STORY_TEAM,  # and only with the receipt's own link (test_storyteller_page)
    "receipts.notice_seen": RECORDERS,  # marks only the caller's organisation's notices
    # The storyteller's pages open for a live link (or code) alone, never for a role: no one here holds one.
    "mine.enter_code": ANYONE,
    "mine.open_link": set(),
    "mine.story": set(),
    "mine.right": set(),
    "mine.narrow": set(),
    "mine.withdraw": set(),
    "mine.erase": set(),
}


@pytest.fixture
def world(app, instance, db, orgs, users, signed_form):
    """One of everything in organisation A, so every route has something real to point at."""
    intervention = add_intervention(db, {"name": "Telephone befriending"}, provider_id=orgs["a"], actor="t")
    story_id = record_story(
        db,
        story_form(identity_level="named", interventions=[str(intervention)], evidence_file=signed_form()),
        organisation_id=orgs["a"],
        actor="t",
        user_id=users["worker"],
    )
    audio = instance.audio_dir / ("0" * 64 + ".webm")
    audio.write_bytes(b"not played in this test")
    recording = add_recording(db, story_id, audio_file=audio.name, duration=3.0, codec="opus", actor="t")
    save_transcript(
        db,
        story_id,
        recording,
        segments=[{"start": 0, "end": 3, "text": "I feel like myself again."}],
        language="en",
        model="test",
    )
    correct_transcript(db, story_id, ["My name is Margaret Holt. I feel like myself again."], actor="t", reviewed=True)
    decide_name(db, story_id, "Priya", "keep", actor="t")
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    tag = add_tag(db, story_id)
    job = create_job(db, story_id, "transcribe")
    fail_job(db, job, "test")
    export_id = record_export(db, story_id, user_id=users["worker"], actor="t", kind="csv", audience="team", consent_version=1)
    request_destruction(db, story_id)
    round_id = db.execute(
        "INSERT INTO msc_rounds (organisation_id, domain, title, created_by, created_at)"
        " VALUES (?, 'relationships', 'R', ?, 'now')",
        [orgs["a"], users["reviewer"]],
    ).lastrowid
    case_study = db.execute(
        "INSERT INTO case_studies (story_id, created_by, title, created_at, updated_at) VALUES (?, ?, 'Case', 'now', 'now')",
        [story_id, users["presenter"]],
    ).lastrowid
    commitment = add_commitment(
        db,
        intervention,
        {"outcome": "Fewer people feel lonely", "domains": "relationships", "contribution": "inherent"},
        actor="t",
    )
    notify(db, story_id, WITHDREW)
    notice_id = db.execute("SELECT max(id) FROM storyteller_notices").fetchone()[0]
    return {
        "story_id": story_id,
        "intervention_id": intervention,
        "commitment_id": commitment,
        "tag_id": tag,
        "job_id": job,
        "export_id": export_id,
        "round_id": round_id,
        "case_study_id": case_study,
        "filename": "storybank.css",
        "token": "a-guess-" + "x" * 35,
        "notice_id": notice_id,
    }


def routes(app):
    """(endpoint, method, url template) for every route; destructive ones last, so the rest still have their target."""
    found = [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]

    def order(item: tuple[str, str, str]) -> tuple[int, tuple[str, str, str]]:
        endpoint = item[0]
        return (2 if endpoint == "auth.logout" else 1 if "delete" in endpoint or "withdraw" in endpoint else 0), item

    return sorted(found, key=order)


def reached(endpoint: str, response) -> bool:
    """Did the request get through (whatever the page then said), rather than being turned away?"""
    if response.status_code in (403, 404, 405):
        return False
    if endpoint == "auth.logout":
        return "next=" not in response.headers.get("Location", "")  # logging out ends on the login page; refusal asks to log in
    return not (response.status_code in (301, 302, 303) and "/auth/login" in response.headers.get("Location", ""))


def test_every_route_has_a_rule(app):
    assert {endpoint for endpoint, _, _ in routes(app)} == set(ALLOWED)


@pytest.mark.parametrize("persona", PERSONAS)
def test_nobody_reaches_what_they_may_not_and_everyone_reaches_what_they_may(app, world, persona):
    client = app.test_client()
    if persona != "anonymous":
        assert client.post("/auth/login", data={"username": persona, "password": "correct horse battery"}).status_code == 302
    unexpected, refused = [], []
    for endpoint, method, template in routes(app):
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(world[m.group(1)]), template)
        response = client.open(url, method=method, data={})
        assert response.status_code < 500, f"{method} {url} as {persona}: server error"
        allowed = persona in ALLOWED[endpoint]
        if reached(endpoint, response) and not allowed:
            unexpected.append(f"{method} {url} -> {response.status_code}")
        if allowed and not reached(endpoint, response):
            refused.append(f"{method} {url} -> {response.status_code}")
    assert unexpected == [], f"{persona} reached routes they should not: {unexpected}"
    assert refused == [], f"{persona} was turned away from routes they should reach: {refused}"


def test_a_copy_can_only_be_marked_destroyed_by_whoever_holds_it(app, world, db):
    client = app.test_client()
    client.post("/auth/login", data={"username": "worker_b", "password": "correct horse battery"})
    client.post(f"/exports/{world['export_id']}/destroyed")
    assert db.execute("SELECT destroyed_at FROM exports WHERE id = ?", [world["export_id"]]).fetchone()[0] is None


HUGE_IDS = (str(2**63), str(2**64), "9" * 30)


@pytest.mark.parametrize("persona", ["anonymous", "worker", "reviewer", "presenter", "admin"])
def test_no_route_fails_on_a_huge_or_negative_id_or_page(app, world, persona):
    """Ids past SQLite's 64-bit integers, negative ids and huge page numbers: 404 or a clear page, never a server error."""
    client = app.test_client()
    if persona != "anonymous":
        client.post("/auth/login", data={"username": persona, "password": "correct horse battery"})
    failures = []
    for endpoint, method, template in routes(app):
        if endpoint in ("auth.logout", "static"):
            continue
        ids = re.findall(r"<int:(\w+)>", template)
        for name in ids:
            for bad in (*HUGE_IDS, "-1"):
                url = re.sub(
                    r"<(?:\w+:)?(\w+)>",
                    lambda m, name=name, bad=bad: bad if m.group(1) == name else str(world[m.group(1)]),
                    template,
                )
                response = client.open(url, method=method, data={})
                if response.status_code >= 500 or (response.status_code == 200 and method == "GET"):
                    failures.append(f"{method} {url} -> {response.status_code}")
        if method == "GET" and not ids:
            url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(world[m.group(1)]), template)
            for page in (*HUGE_IDS, "-5", "0", "x"):
                response = client.get(f"{url}?page={page}")
                if response.status_code >= 500:
                    failures.append(f"GET {url}?page={page} -> {response.status_code}")
    assert failures == []
