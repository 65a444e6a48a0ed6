"""Bad input of every kind, at every form and upload: never a server error, always a clear answer, nothing half-saved."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import story_form

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text a person or a broken client might send: empty, huge, control characters, right-to-left
# marks, emoji, lone surrogates replaced, NULs, SQL and HTML that must stay inert.
nasty_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\u202e\u202dreversed",
            "💥" * 50,
            "'; DROP TABLE stories; --",
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "2026-02-30",
            "9999-99-99",
            "NaN",
            "-1",
            "1e309",
            str(2**63),  # one past SQLite's largest integer
            "9" * 30,
            "²²²²",  # digits to str.isdigit(), not to int()
            "٣",
            "\r\n" * 20,
        ]
    ),
    st.integers(50_001, 60_000).map(lambda n: "ab " * (n // 3)),  # over every field's limit
)
STORY_FIELDS = list(story_form())
fields = st.dictionaries(st.sampled_from(STORY_FIELDS), nasty_text, max_size=len(STORY_FIELDS))


def counts(db) -> tuple[int, ...]:
    tables = ("stories", "consent_events", "storytellers", "story_interventions", "recordings", "jobs", "interventions")
    return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables)


def saved_whole(db, before) -> bool:
    """Either nothing was written, or exactly one complete story with its consent."""
    after = counts(db)
    if after == before:
        return True
    stories, events, *_ = (a - b for a, b in zip(after, before, strict=True))
    return stories == 1 and events == 1


@FUZZ
@given(changes=fields)
def test_the_story_form_survives_any_field_values(client, auth, db, changes):
    auth.login("worker")
    before = counts(db)
    response = client.post("/stories/new", data=story_form(**changes))
    assert response.status_code in (302, 422)
    assert saved_whole(db, before)
    if response.status_code == 422:
        assert "Please fix" in response.get_data(as_text=True)


@FUZZ
@given(
    content=st.one_of(
        st.binary(max_size=4096),
        st.sampled_from(
            [
                b"%PDF-1.4 fake",
                b"RIFF\x00\x00\x00\x00WAVEfmt ",
                b"ID3\x03\x00\x00\x00",
                b"OggS\x00\x02",
                b"\x1aE\xdf\xa3\x9fB\x86\x81\x01",
                b"fLaC\x00\x00\x00\x22",
                b"\x00" * 1000,
                b"GIF89a",
            ]
        ),
    ),
    name=st.sampled_from(["story.mp3", "story.wav", "story.webm", "story.m4a", "story.ogg", "story.flac", "story.exe", "x"]),
)
def test_any_upload_as_a_recording_is_refused_cleanly_or_accepted(client, auth, db, instance, content, name):
    auth.login("worker")
    before = counts(db)
    form = story_form(body="")
    form["recording"] = (io.BytesIO(content), name)
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code in (302, 422)
    if response.status_code == 422:
        text = response.get_data(as_text=True)
        assert "audio" in text.lower() or "recording" in text.lower()
        assert counts(db) == before
    assert not list(instance.audio_dir.glob(".incoming-*"))  # no half-written upload left behind


@FUZZ
@given(content=st.binary(max_size=2048), name=st.sampled_from(["form.pdf", "form.jpg", "form.png", "form"]))
def test_any_upload_as_a_consent_form_is_refused_cleanly_or_accepted(client, auth, db, content, name):
    auth.login("worker")
    before = counts(db)
    form = story_form(method="written", evidence_time="")
    form["evidence_upload"] = (io.BytesIO(content), name)
    response = client.post("/stories/new", data=form, content_type="multipart/form-data")
    assert response.status_code in (302, 422)
    assert saved_whole(db, before)


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "commissioner",
                "contract_ref",
                "contract_ref_kind",
                "starts_on",
                "ends_on",
                "description",
                "social_value_theme",
            ]
        ),
        nasty_text,
    )
)
def test_the_intervention_form_survives_any_values(client, auth, data):
    auth.login("worker")
    assert client.post("/interventions/new", data=data).status_code in (302, 422)


@FUZZ
@given(username=nasty_text, password=nasty_text)
def test_login_survives_any_values(client, username, password):
    assert client.post("/auth/login", data={"username": username, "password": password}).status_code in (302, 401)


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "scope",
                "reason",
                "kind",
                *STORY_FIELDS,
                "start",
                "end",
                "domain",
                "direction",
                "method",
                "verified_on",
                "note",
                "intervention_id",
                "contribution",
            ]
        ),
        nasty_text,
    )
)
def test_story_actions_survive_any_values(client, auth, db, orgs, users, data):
    from stories.records import record_story

    story_id = record_story(db, story_form(), organisation_id=orgs["a"], actor="t", user_id=users["worker"])
    auth.login("reviewer")
    for path in ("consent", "withdraw", "tags/add", "tags", "member-check", "verify", "names", "approve"):
        response = client.post(f"/stories/{story_id}/{path}", data=data)
        assert response.status_code < 500, path


@FUZZ
@given(number=nasty_text, other=nasty_text)
def test_number_fields_of_panels_and_case_studies_survive_any_values(client, auth, db, orgs, users, number, other):
    from stories.records import approve_story, record_story

    story_id = record_story(db, story_form(), organisation_id=orgs["a"], actor="t", user_id=users["worker"])
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    round_id = db.execute(
        "INSERT INTO msc_rounds (organisation_id, domain, title, created_by, created_at)"
        " VALUES (?, 'relationships', 'R', ?, 'now')",
        [orgs["a"], users["reviewer"]],
    ).lastrowid
    case_study = db.execute(
        "INSERT INTO case_studies (story_id, created_by, title, created_at, updated_at) VALUES (?, ?, 'Case', 'now', 'now')",
        [story_id, users["presenter"]],
    ).lastrowid
    auth.login("reviewer")
    for data in ({"action": "shortlist", "story_id": number}, {"action": "choose", "story_id": number, "reason": other}):
        assert client.post(f"/msc/{round_id}", data=data).status_code < 500
    auth.logout()
    auth.login("presenter")
    for path in ("quotes", "quotes/remove"):
        response = client.post(f"/case-studies/{case_study}/{path}", data={"start": number, "end": other})
        assert response.status_code < 500, path


@FUZZ
@given(
    args=st.dictionaries(
        st.sampled_from(["contract", "commissioner", "provider", "from", "to", "verification", "framework"]), nasty_text
    )
)
def test_the_dashboard_survives_any_filters(client, auth, args):
    auth.login("commissioner")
    assert client.get("/dashboard/", query_string=args).status_code == 200
