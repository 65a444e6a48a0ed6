"""Fixtures in the flaskr style: a real instance folder per test, the app, its client, and helpers."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stories import assurance
from stories import auth as domain_auth
from stories.demo import stand_in_form
from stories.instance import Instance, init_instance
from stories.organisations import ensure_organisation

PASSWORD = "correct horse battery"
ROLES = ("worker", "reviewer", "commissioner", "presenter", "admin")

# What makes a test slow, read from the fixtures it uses (pyproject.toml registers the markers;
# `make test-fast` leaves these out). A new test using one of these fixtures is marked by itself.
MARKS_BY_FIXTURE = {
    "chromium_browser": "browser",  # Debian's Chromium, driven by playwright
    "browser": "browser",
    "storybank": "server",  # the app, a worker and Datasette started as processes
    "processes": "server",
    "real_datasette": "server",
    "redis_url": "redis",  # Debian's redis-server
    "spoken_story": "whisper",  # speech made with espeak-ng, heard by the Whisper model
    "spoken_webm": "whisper",
    "recording": "whisper",
    "heard": "whisper",
    "long_speech": "whisper",
    "olive_says_her_name": "whisper",
    "crashes": "faults",  # kill -9 rounds
    "machine": "faults",  # the consent state machine, which crashes withdrawals and rebuilds
    "app": "web",  # the Flask app and its test client: an entry point, not the domain
}
# Modules whose every test is of a kind: processes killed on purpose, or a browser's whole journey.
MARKS_BY_MODULE = {
    "test_faults": "faults",
    "test_serve": "faults",
    "test_consent_properties": "faults",
    "test_browser": "browser",
    "test_browser_outcomes": "browser",
    "test_journeys": "browser",
    "test_supervisor": "server",  # starts children and waits for them to die
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marks = {MARKS_BY_FIXTURE[name] for name in getattr(item, "fixturenames", ()) if name in MARKS_BY_FIXTURE}
        marks |= {mark for module, mark in MARKS_BY_MODULE.items() if item.module.__name__ == module}
        for mark in sorted(marks):
            item.add_marker(mark)


@pytest.fixture
def processes() -> Iterator[Callable[..., subprocess.Popen]]:
    """Start subprocesses, each in its own process group, all stopped at teardown even when an assertion failed."""
    started: list[subprocess.Popen] = []

    def start(args: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen([str(arg) for arg in args], start_new_session=True, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group: a launcher's forked children too
    for process in started:
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


@pytest.fixture(autouse=True)
def quick_password_hashing(request, monkeypatch):
    """scrypt costs ~0.2 s a hash; tests make dozens of users. A test marked `real_password_hashing`
    keeps the product's own setting, so it can check what real accounts get (test_web_auth does)."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        monkeypatch.setattr(domain_auth, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Instance:
    monkeypatch.setenv("STORYBANK_JOBS_IMMEDIATE", "1")  # jobs run inline unless a test starts a worker
    monkeypatch.delenv("STORYBANK_REDIS_URL", raising=False)
    inst = Instance(tmp_path / "instance")
    init_instance(inst).close()
    monkeypatch.setenv("STORYBANK_INSTANCE", str(inst.root))
    return inst


@pytest.fixture
def db(instance):
    store = instance.open()
    yield store
    store.close()


@pytest.fixture
def orgs(db) -> dict[str, int]:
    return {
        "a": ensure_organisation(db, "Befriending Network", kind="charity", area="Leeds"),
        "b": ensure_organisation(db, "Debt Advice Leeds", kind="charity", area="Leeds"),
    }


@pytest.fixture
def users(db, orgs) -> dict[str, int]:
    """One user per role in organisation A, and a worker in organisation B."""
    made = {}
    for role in ROLES:
        made[role] = domain_auth.add_user(
            db, username=role, display_name=role.title(), password=PASSWORD, role=role, organisation_id=orgs["a"], actor="test"
        )
    made["worker_b"] = domain_auth.add_user(
        db,
        username="worker_b",
        display_name="Worker B",
        password=PASSWORD,
        role="worker",
        organisation_id=orgs["b"],
        actor="test",
    )
    return made


@pytest.fixture
def app(instance, users):
    from app import create_app

    return create_app({"INSTANCE": str(instance.root), "TESTING": True, "WTF_CSRF_ENABLED": False})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str = "worker", password: str = PASSWORD):
        return self._client.post("/auth/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until `condition()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def story_form(**overrides: Any) -> dict[str, Any]:
    """Every field of a valid story with consent for all audiences, as a form would send it.

    The consent is written, but no signed form comes with it: the story stays with the team until
    one does (pass `evidence_file=signed_form()`), or, for verbal consent, a moment in its recording.
    """
    today = dt.date.today()
    form = {
        "title": "Someone to ring on a Tuesday",
        "body": "My name is Margaret Holt. After my husband died I did not speak to anyone for weeks. "
        "Now Priya rings every Tuesday and I go to the lunch club. I feel like myself again.",
        "told_on": (today - dt.timedelta(days=10)).isoformat(),
        "storyteller_reference": "BF-0012",
        "storyteller_names": "Margaret Holt; Maggie",
        "given_by": "storyteller",
        "age_band": "65+",
        "witness": "Priya Shah, befriending coordinator",
        "method": "written",
        "evidence_time": "",
        "info_sheet_version": "2.1",
        "audiences": ["team", "commissioners", "board", "public"],
        "identity_level": "anonymous",
        "special_category": "yes",
        "given_on": (today - dt.timedelta(days=10)).isoformat(),
        "review_on": (today + dt.timedelta(days=365)).isoformat(),
    }
    form.update(overrides)
    return form


SIGNED_FORM = stand_in_form("A consent form signed by the storyteller BF-0012")


def with_signed_form(form: dict[str, Any]) -> dict[str, Any]:
    """The form with a signed consent form chosen for upload, as a browser sends it (post it as multipart)."""
    return {**form, "evidence_upload": (io.BytesIO(SIGNED_FORM), "signed-consent.pdf")}


@pytest.fixture
def signed_form(instance, db) -> Callable[..., str]:
    """Upload a signed consent form as `actor` would in the app; returns its stored name, for one story to claim.

    Each call is another storyteller's form (different bytes) unless `content` says otherwise.
    """
    from stories.evidence import keep_form

    uploads = iter(range(1, 1_000_000))

    def upload(actor: str = "t", content: bytes | None = None) -> str:
        content = content or stand_in_form(f"Consent form number {next(uploads)}, signed")
        return keep_form(db, instance.evidence_dir, content, actor)

    return upload


def add_tag(
    db,
    story_id: int,
    domain: str = "relationships",
    direction: str = "improved",
    *,
    evidence: str | None = None,
    status: str = "confirmed",
    origin: str = "person",
    framework: str = "ons-wellbeing",
    start: int | None = None,
    end: int | None = None,
) -> int:
    """An outcome tag written straight into the store, as the tagger or a worker would leave it."""
    return db.execute(
        'INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, start, "end", evidence,'
        " origin, status, created_at) VALUES (?, ?, 'test', ?, ?, ?, ?, ?, ?, ?, 'now')",
        [story_id, framework, domain, direction, start, end, evidence, origin, status],
    ).lastrowid


def sign_off(db, story_id: int, reviewer_id: int | None) -> None:
    """A reviewer's sign-off as the story page asks for it: every name found in what the story
    publishes decided (kept, here), then the story approved."""
    from stories.identity import names_for_review
    from stories.records import approve_story, decide_name, get_story

    for item in names_for_review(get_story(db, story_id)):
        if not item["decision"]:
            decide_name(db, story_id, item["name"], "keep", actor="t")
    approve_story(db, story_id, actor="t", user_id=reviewer_id)


def verify_today(db, story_id: int, reviewer_id: int) -> None:
    """A reviewer's second-person verification of a story, dated today."""
    assurance.record_second_person(
        db, story_id, {"verified_on": dt.date.today().isoformat()}, actor="t", user_id=reviewer_id, verifier="Reviewer"
    )


def datasette_get(ds, path: str, cookies: dict[str, str] | None = None):
    """A request to Datasette's in-process client, as a browser with these cookies would make it."""

    async def fetch():
        await ds.invoke_startup()
        return await ds.client.get(path, cookies=cookies or {})

    return asyncio.run(fetch())
