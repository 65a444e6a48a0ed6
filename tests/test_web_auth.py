"""Logging in, throttling, logout and who may see which page."""

from __future__ import annotations

import re

from conftest import PASSWORD, story_form
from stories.records import record_story


def test_login_takes_a_worker_to_their_stories(client, auth):
    response = auth.login("worker")
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert b"Stories of Befriending Network" in page.data


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, auth):
    response = auth.login("worker", "not the password")
    assert response.status_code == 401
    assert b"do not match" in response.data
    assert auth.login("nobody", "whatever").status_code == 401


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, auth):
    for _ in range(5):
        auth.login("worker", "wrong password!")
    response = auth.login("worker", PASSWORD)
    assert response.status_code == 401
    assert b"locked" in response.data


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, auth):
    auth.login("worker")
    cookie = client.get_cookie("storybank_session").value
    assert client.get("/stories/").status_code == 200
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("storybank_session", cookie)
    assert thief.get("/stories/").status_code == 302  # back to the login page


def test_pages_need_a_login(client):
    for path in ("/stories/", "/stories/new", "/interventions/"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_worker_never_reaches_another_organisations_story(client, auth, db, orgs, users):
    story_id = record_story(db, story_form(), organisation_id=orgs["a"], actor="test")
    auth.login("worker_b")
    assert client.get(f"/stories/{story_id}").status_code == 404
    listing = client.get("/stories/")
    assert b"Someone to ring" not in listing.data


def test_commissioners_and_presenters_do_not_read_working_stories(client, auth, db, orgs):
    story_id = record_story(db, story_form(), organisation_id=orgs["a"], actor="test")
    for role in ("commissioner", "presenter", "admin"):
        auth.login(role)
        assert client.get(f"/stories/{story_id}").status_code == 403
        assert client.get("/stories/").status_code == 403
        auth.logout()


def test_only_a_reviewer_signs_off(client, auth, db, orgs):
    story_id = record_story(db, story_form(), organisation_id=orgs["a"], actor="test")
    auth.login("worker")
    assert client.post(f"/stories/{story_id}/approve").status_code == 403


def test_next_parameter_cannot_send_people_elsewhere(client, auth):
    response = client.post("/auth/login", data={"username": "worker", "password": PASSWORD, "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_forms_refuse_a_post_without_csrf_token(instance, users):
    from app import create_app

    app = create_app({"INSTANCE": str(instance.root), "TESTING": True})
    response = app.test_client().post("/auth/login", data={"username": "worker", "password": PASSWORD})
    assert response.status_code == 400
    assert b"expired" in response.data


def test_pages_carry_security_headers(client, auth):
    auth.login("worker")
    response = client.get("/stories/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_real_passwords_are_stored_with_a_slow_hash(db, orgs, monkeypatch):
    from stories import auth as domain_auth

    monkeypatch.setattr(domain_auth, "PASSWORD_HASH_METHOD", "scrypt")
    domain_auth.add_user(
        db, username="real", display_name="Real", password=PASSWORD, role="worker", organisation_id=orgs["a"], actor="t"
    )
    stored = db.execute("SELECT password_hash FROM users WHERE username = 'real'").fetchone()[0]
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_a_session_left_idle_expires(client, auth, db):
    auth.login("worker")
    assert client.get("/stories/").status_code == 200
    db.execute("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00+00:00'")
    response = client.get("/stories/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(instance, users, monkeypatch):
    from app import create_app

    monkeypatch.setenv("STORYBANK_HTTPS", "1")
    app = create_app({"INSTANCE": str(instance.root), "TESTING": True, "WTF_CSRF_ENABLED": False})
    response = app.test_client().post("/auth/login", data={"username": "worker", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_the_interventions_list_counts_only_stories_its_viewer_may_read(client, auth, db, orgs, users):
    """A count over stories the viewer may not read would tell them about those stories: each organisation counts its own."""
    from stories.interventions import add_intervention

    shared = add_intervention(db, {"name": "Telephone befriending"}, provider_id=orgs["a"], actor="t")
    for title in ("Team only one", "Team only two"):
        record_story(
            db, story_form(title=title, audiences=["team"], interventions=[str(shared)]), organisation_id=orgs["a"], actor="t"
        )
    record_story(db, story_form(interventions=[str(shared)]), organisation_id=orgs["b"], actor="t")

    def count_shown(username: str) -> str:
        auth.login(username)
        page = client.get("/interventions/").get_data(as_text=True)
        auth.logout()
        if "Your stories" not in page:
            return ""
        headings = re.findall(r'<th scope="col">(.*?)</th>', page)
        row = page.split("<td>Telephone befriending</td>")[1].split("</tr>")[0]
        return re.findall(r"<td>(.*?)</td>", "<td>Telephone befriending</td>" + row)[headings.index("Your stories")]

    assert count_shown("worker") == "2"
    assert count_shown("worker_b") == "1"  # organisation A's two team-only stories are not B's to count
    assert count_shown("admin") == ""  # an admin reads no stories, so counts none
