"""Logging in, throttling, logout and who may see which page."""

from __future__ import annotations

import re

import pytest

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


ATTACKER, OFFICE = "203.0.113.9", "198.51.100.7"


def log_in_from(client, address: str, username: str, password: str):
    return client.post("/auth/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address})


def refusal(response) -> str:
    """The message a refused login shows, without the username the form keeps."""
    return response.get_data(as_text=True).split('role="alert"><p>')[1].split("</p>")[0]


def test_repeated_failures_from_one_address_refuse_even_the_right_password_there(client):
    for _ in range(5):
        log_in_from(client, ATTACKER, "worker", "wrong password!")
    response = log_in_from(client, ATTACKER, "worker", PASSWORD)
    assert response.status_code == 401
    assert "Please try again in 15 minutes" in refusal(response)


def test_five_wrong_passwords_typed_elsewhere_lock_nobody_out(client):
    for _ in range(6):
        log_in_from(client, ATTACKER, "admin", "wrong password!")
    assert log_in_from(client, OFFICE, "admin", PASSWORD).status_code == 302


def test_throttling_reads_and_costs_the_same_for_real_and_unknown_usernames(client, monkeypatch):
    """Nothing in the answer, or in the work done for it, tells whether an account exists."""
    from stories import auth as domain_auth

    hashes = []
    real_check = domain_auth.check_password_hash
    monkeypatch.setattr(domain_auth, "check_password_hash", lambda *a: hashes.append(1) or real_check(*a))

    def attempts(address: str, username: str) -> list[tuple[int, str, int]]:
        seen = []
        for _ in range(7):
            hashes.clear()
            response = log_in_from(client, address, username, "wrong password!")
            seen.append((response.status_code, refusal(response), len(hashes)))
        return seen

    real = attempts("192.0.2.1", "worker")
    unknown = attempts("192.0.2.2", "nobody-by-this-name")
    assert real == unknown
    assert real[0] == (401, "That username and password do not match.", 1)
    assert real[-1] == (401, "Too many failed attempts to log in from here. Please try again in 15 minutes.", 0)


def test_an_inactive_account_costs_the_same_work_as_any_other(client, db, monkeypatch):
    from stories import auth as domain_auth

    db.execute("UPDATE users SET active = 0 WHERE username = 'presenter'")
    hashes = []
    real_check = domain_auth.check_password_hash
    monkeypatch.setattr(domain_auth, "check_password_hash", lambda *a: hashes.append(1) or real_check(*a))
    response = log_in_from(client, ATTACKER, "presenter", PASSWORD)
    assert response.status_code == 401 and len(hashes) == 1
    assert refusal(response) == "That username and password do not match."


def test_one_address_trying_many_accounts_is_throttled_across_them(client):
    for n in range(20):
        log_in_from(client, ATTACKER, f"guess-{n}", "wrong password!")
    response = log_in_from(client, ATTACKER, "reviewer", PASSWORD)
    assert response.status_code == 401 and "Please try again in" in refusal(response)
    assert log_in_from(client, OFFICE, "reviewer", PASSWORD).status_code == 302


def test_a_forwarded_address_is_believed_only_behind_a_trusted_proxy(instance, users, monkeypatch):
    from app import create_app

    def app_client():
        return create_app({"INSTANCE": str(instance.root), "TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()

    def fail_five(client, claimed: str) -> None:
        for _ in range(5):
            client.post(
                "/auth/login",
                data={"username": "worker", "password": "wrong password!"},
                headers={"X-Forwarded-For": claimed},
                environ_base={"REMOTE_ADDR": "10.0.0.2"},
            )

    # No proxy configured: a client cannot dodge the throttle by claiming another address each time.
    direct = app_client()
    for n in range(5):
        fail_five(direct, f"192.0.2.{n}")
    response = direct.post(
        "/auth/login", data={"username": "worker", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert response.status_code == 401
    # Behind one trusted proxy (10.0.0.2), each person is throttled by the address the proxy saw.
    monkeypatch.setenv("STORYBANK_TRUSTED_PROXIES", "1")
    proxied = app_client()
    fail_five(proxied, ATTACKER)
    office = proxied.post(
        "/auth/login",
        data={"username": "worker", "password": PASSWORD},
        headers={"X-Forwarded-For": OFFICE},
        environ_base={"REMOTE_ADDR": "10.0.0.3"},
    )
    assert office.status_code == 302


def test_logins_are_audited_with_the_address_and_no_unknown_username(client, db):
    log_in_from(client, ATTACKER, "worker", "wrong password!")
    log_in_from(client, ATTACKER, "my-secret-password", "oops")
    log_in_from(client, OFFICE, "worker", PASSWORD)
    rows = db.execute("SELECT actor, action, detail FROM audit_log WHERE action LIKE 'login%' ORDER BY id").fetchall()
    assert [(actor, action) for actor, action, _ in rows] == [
        ("user:worker", "login.failed"),
        ("anonymous", "login.failed"),
        ("user:worker", "login"),
    ]
    assert ATTACKER in rows[0][2] and OFFICE in rows[2][2]
    everything = " ".join(str(v) for row in db.execute("SELECT * FROM audit_log").fetchall() for v in row)
    assert "my-secret-password" not in everything


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


@pytest.mark.real_password_hashing  # the product's own hash method, not the tests' quick one
def test_real_passwords_are_stored_with_a_slow_hash(db, orgs):
    from stories import auth as domain_auth

    domain_auth.add_user(
        db, username="real", display_name="Real", password=PASSWORD, role="worker", organisation_id=orgs["a"], actor="t"
    )
    stored = db.execute("SELECT password_hash FROM users WHERE username = 'real'").fetchone()[0]
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    # werkzeug writes "scrypt:N:r:p$salt$hash"; N of 2**15 (its default) costs ~32 MB and ~0.1 s per guess
    cost, _, _ = stored.partition("$")
    n, r, p = (int(part) for part in cost.split(":")[1:])
    assert n >= 2**15 and r >= 8 and p >= 1, cost
    assert domain_auth.authenticate(db, "real", PASSWORD, address="127.0.0.1").username == "real"


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
        row = page.split(">Telephone befriending</td>")[1].split("</tr>")[0]
        return re.findall(r"<td[^>]*>(.*?)</td>", "<td>Telephone befriending</td>" + row)[headings.index("Your stories")]

    assert count_shown("worker") == "2"
    assert count_shown("worker_b") == "1"  # organisation A's two team-only stories are not B's to count
    assert count_shown("admin") == ""  # an admin reads no stories, so counts none
