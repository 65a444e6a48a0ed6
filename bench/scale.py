"""Storybank at scale: 100,000 stories of ~250 words with 3 outcome links each.

Prints: store build time, full publish time (cold: every story redacted; warm: stored versions
reused), Datasette full-text search p50/p95 through its HTTP API on 127.0.0.1, the app's story
page and story list p50/p95 under 20 concurrent users, and the sizes on disk. Targets (issue 18):
full publish <= 40 s cold and <= 15 s warm, search p95 <= 100 ms, story page and list p95 <= 100 ms.

    .venv/bin/python bench/scale.py [--stories 100000] [--keep DIR] [--users 20] [--requests 25]

With --keep DIR the instance is built in DIR/instance and kept; run again with the same DIR and
the same --stories and the store is reused (only the publishes and the pages are measured again),
so bench/withdrawal.py and bench/search.py can be pointed at it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import itertools
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import load, report
from pipelines.jobs import queue_for
from pipelines.publish import run_publish
from stories.auth import add_user
from stories.clock import now_iso, today
from stories.db import write_transaction
from stories.demo import stand_in_form
from stories.evidence import store_evidence
from stories.identity import published_version
from stories.instance import Instance, init_instance
from stories.organisations import ensure_organisation
from stories.published_versions import forget_all
from stories.records import back_to_review, stories_for_publication
from stories.sqlite import sqlite3
from stories.wordlists import DATA

PASSWORD = "ochre lantern drifts over a quiet harbour"  # strong enough for stories/passwords.py
WAITING = 10  # stories left waiting for sign-off: each signed off in the app, timed until every file holds it
DOMAINS = ["personal_wellbeing", "relationships", "health", "what_we_do", "where_we_live", "personal_finance", "education_skills"]
DIRECTIONS = ["improved"] * 6 + ["mixed", "mentioned", "worsened"]
LEVELS = ["first_name"] * 5 + ["anonymous"] * 3 + ["named"] * 2
WORDS = (
    "the a and i we my our was it to of in for with at on after before now again still every week month day year "
    "house flat home rent council housing damp heating warm cold garden neighbours street bus town centre library "
    "friends family son daughter sister brother mum dad partner children grandchildren neighbour volunteer group "
    "lonely alone isolated talk tea lunch club walk walking visit phone call calls together laugh laughing "
    "debt debts bills benefits money budget arrears letters post plan food bank electric gas meter payments "
    "job work course college training skills confidence certificate learning reading computer interview "
    "health doctor nurse sleep anxiety depression pain walking medication appointment hospital better worse "
    "felt feel feeling happy hopeful worried scared proud safe useful myself able manage managed started stopped "
    "helped help support worker service team advice visits listened changed change finally first time "
).split()
FIRST_NAMES = ["Margaret", "Aisha", "Tomasz", "Grace", "Kwame", "Siobhan", "Priya", "Darren", "Yusuf", "Eleanor"]
SURNAMES = ["Holt", "Khan", "Nowak", "Obi", "Mensah", "Byrne", "Patel", "Walsh", "Ali", "Hughes"]


@functools.cache
def vocabulary() -> tuple[list[str], list[float]]:
    """English words with Zipf weights (rank r weighs 1/r), plus the stories' own topic words.

    Real stories have thousands of words, each rare; a tiny vocabulary would put every search
    term in every story and measure a search nobody makes.
    """
    path = DATA / "common_words.txt"
    common = [w for w in path.read_text().split("\n") if w and not w.startswith("#")][:20_000]
    words = common + WORDS
    weights = [1 / rank for rank in range(1, len(common) + 1)]
    topic_weight = sum(weights) * 0.08 / len(WORDS)  # topic words are ~8% of what people say
    return words, list(itertools.accumulate(weights + [topic_weight] * len(WORDS)))


def story_body(rng: random.Random, name: str) -> str:
    words, cumulative = vocabulary()
    sentences = [f"My name is {name}."]
    count = 4
    while count < 250:
        length = rng.randint(8, 18)
        sentence = " ".join(rng.choices(words, cum_weights=cumulative, k=length))
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
        count += length
    return " ".join(sentences)


def build_store(instance: Instance, count: int) -> float:
    """Write stories straight into the store, as record_story would, in one transaction.

    The last WAITING stories are left waiting for their sign-off, for the change measured by `sign_off_in_app`.
    """
    rng = random.Random(7)
    started = time.perf_counter()
    db = init_instance(instance)
    org = ensure_organisation(db, "Bench Befriending", kind="charity", area="Leeds")
    add_user(
        db, username="reviewer", display_name="Reviewer", password=PASSWORD, role="reviewer", organisation_id=org, actor="bench"
    )
    stamp, given_on, review_on = now_iso(), today().isoformat(), today().replace(year=today().year + 2).isoformat()
    signed_form = store_evidence(instance.evidence_dir, stand_in_form("A signed consent form"))  # one, shared
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    interventions = []
    for n in range(5):
        interventions.append(
            conn.execute(
                "INSERT INTO interventions (slug, name, provider_id, commissioner, contract_ref, created_at, updated_at)"
                " VALUES (?, ?, ?, 'Leeds City Council', ?, ?, ?)",
                [f"i{n}", f"Intervention {n}", org, f"LCC-{n}", stamp, stamp],
            ).lastrowid
        )
    for n in range(count):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        storyteller = conn.execute(
            "INSERT INTO storytellers (organisation_id, reference, pseudonym_seed, created_at) VALUES (?, ?, ?, ?)",
            [org, f"B-{n}", secrets.token_hex(8), stamp],
        ).lastrowid
        body = story_body(rng, name)
        told_on = f"{rng.randint(2022, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        waiting = n >= count - min(WAITING, count // 4)
        story_id = conn.execute(
            "INSERT INTO stories (organisation_id, storyteller_id, storyteller_names, title, body, told_on, status,"
            " text_reviewed,"
            " created_at, updated_at, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            [
                org,
                storyteller,
                json.dumps([name]),
                f"Story {n}",
                body,
                told_on,
                "submitted" if waiting else "approved",
                stamp,
                stamp,
                None if waiting else stamp,
            ],
        ).lastrowid
        conn.execute(
            "INSERT INTO consent_events (story_id, kind, recorded_at, recorded_by, given_by, age_band, witness, method,"
            " info_sheet_version, audiences, identity_level, special_category, given_on, review_on, evidence_file)"
            " VALUES (?, 'given', ?, 'bench', 'storyteller', '45-64', 'Worker', 'written', '2', ?, ?, 1, ?, ?, ?)",
            [
                story_id,
                stamp,
                json.dumps(["team", "commissioners", "board", "public"]),
                rng.choice(LEVELS),
                given_on,
                review_on,
                signed_form,
            ],
        )
        conn.execute(
            "INSERT INTO story_interventions (story_id, intervention_id) VALUES (?, ?)", [story_id, rng.choice(interventions)]
        )
        for domain in rng.sample(DOMAINS, 3):
            conn.execute(
                "INSERT INTO outcome_tags (story_id, framework, framework_version, domain, direction, evidence, origin,"
                " status, created_at)"
                " VALUES (?, 'ons-wellbeing', 'bench', ?, ?, ?, 'person', 'confirmed', ?)",
                [story_id, domain, rng.choice(DIRECTIONS), body[:120], stamp],
            )
    conn.execute("COMMIT")
    db.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms (n={len(samples)})"


def bench_search(port: int, requests: int) -> list[float]:
    rng = random.Random(3)
    times = []
    for _ in range(requests):
        term = rng.choice(
            ["lonely", "debt", "college", "anxiety", "garden", "confidence", "arrears", "walking group", "food bank"]
        )
        url = f"http://127.0.0.1:{port}/public/stories.json?_search={urllib.parse.quote(term)}&_size=20"
        started = time.perf_counter()
        urllib.request.urlopen(url, timeout=30).read()
        times.append(time.perf_counter() - started)
    return times


def bench_pages(port: int, paths: list[str], users: int, per_user: int) -> list[float]:
    """Each user logs in first (a slow password hash, by design); then all browse at once and are timed."""

    def log_in(_: int) -> urllib.request.OpenerDirector:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = opener.open(f"http://127.0.0.1:{port}/auth/login").read().decode()
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        data = urllib.parse.urlencode({"csrf_token": token, "username": "reviewer", "password": PASSWORD}).encode()
        opener.open(f"http://127.0.0.1:{port}/auth/login", data=data).read()
        return opener

    def browse(seed_and_opener: tuple[int, urllib.request.OpenerDirector]) -> list[float]:
        seed, opener = seed_and_opener
        rng, times = random.Random(seed), []
        for _ in range(per_user):
            started = time.perf_counter()
            opener.open(f"http://127.0.0.1:{port}{rng.choice(paths)}").read()
            times.append(time.perf_counter() - started)
        return times

    with concurrent.futures.ThreadPoolExecutor(users) as pool:
        openers = list(pool.map(log_in, range(users)))
        return [t for times in pool.map(browse, enumerate(openers)) for t in times]


def sign_off_in_app(app_port: int, ds_port: int, instance: Instance, story_ids: list[int]) -> list[float]:
    """Sign each story off through the app's form, as a reviewer does; seconds until Datasette's public file and
    the commissioners' file both hold it (the worker publishes the change)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"http://127.0.0.1:{app_port}/auth/login").read().decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    data = urllib.parse.urlencode({"csrf_token": token, "username": "reviewer", "password": PASSWORD}).encode()
    opener.open(f"http://127.0.0.1:{app_port}/auth/login", data=data).read()
    times = []
    for story_id in story_ids:
        page = opener.open(f"http://127.0.0.1:{app_port}/stories/{story_id}").read().decode()
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        started = time.perf_counter()
        opener.open(
            f"http://127.0.0.1:{app_port}/stories/{story_id}/approve", data=urllib.parse.urlencode({"csrf_token": token}).encode()
        ).read()
        while not (public_holds(ds_port, story_id) and file_holds(instance, "commissioners", story_id)):
            if time.perf_counter() - started > 300:
                raise TimeoutError(f"story {story_id} was not published within 300 s of its sign-off")
            time.sleep(0.01)
        times.append(time.perf_counter() - started)
    return times


def public_holds(port: int, story_id: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/public/stories/{story_id}.json", timeout=5) as response:
            return bool(json.load(response).get("rows"))
    except urllib.error.HTTPError:
        return False


def file_holds(instance: Instance, audience: str, story_id: int) -> bool:
    with sqlite3.connect(f"file:{instance.published_path(audience)}?immutable=1", uri=True) as conn:
        return conn.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone() is not None


def send_back_for_review(instance: Instance, count: int) -> None:
    """A kept instance's last stories wait for sign-off again, as when it was built (each run signs them off)."""
    db = instance.open()
    try:
        with write_transaction(db):
            for (story_id,) in db.execute("SELECT id FROM stories ORDER BY id DESC LIMIT ?", [count]).fetchall():
                back_to_review(db, story_id)
    finally:
        db.close()


def waiting_stories(instance: Instance) -> list[int]:
    """Stories waiting for sign-off that a sign-off publishes: random words can make a name nobody has decided."""
    db = instance.open()
    try:
        ids = [row[0] for row in db.execute("SELECT id FROM stories WHERE status = 'submitted' ORDER BY id")]
        return [story.id for story in stories_for_publication(db, ids) if not published_version(story).unresolved_names]
    finally:
        db.close()


def p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[94] * 1000


def stories_in_store(instance: Instance) -> int | None:
    """How many stories a kept instance holds, or None if there is none to reuse."""
    if not instance.store_path.exists():
        return None
    db = instance.open()
    try:
        return db.execute("SELECT count(*) FROM stories").fetchone()[0]
    finally:
        db.close()


def measure_publish(instance: Instance, size: str, cold: bool) -> None:
    if cold:  # every story redacted again, as the first publish after an upgrade of the identity rules
        db = instance.open()
        try:
            forget_all(db)
        finally:
            db.close()
    label, target = ("cold: every story redacted", 40) if cold else ("warm: stored versions reused", 15)
    started = time.perf_counter()
    counts = run_publish(instance, actor="bench")
    took = time.perf_counter() - started
    print(f"Full publish ({label}): {took:.1f} s  {counts}")
    report(f"full publish, {label}, {size}", f"{took:.1f} s", f"<= {target} s", took <= target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the instance here and keep it (reused if it has --stories stories)")
    parser.add_argument("--users", type=int, default=20, help="concurrent users for the app's pages (default 20)")
    parser.add_argument("--requests", type=int, default=25, help="pages each user asks for (default 25)")
    parser.add_argument("--searches", type=int, default=300, help="searches timed (default 300)")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="storybank-scale-"))
    instance = Instance(root / "instance")
    size = f"{args.stories:,} stories"
    print(f"Machine: {load()}")
    processes = []
    try:
        if stories_in_store(instance) == args.stories:
            print(f"Reusing the {size} in {instance.root}")
            send_back_for_review(instance, min(WAITING, args.stories // 4))
        else:
            if instance.root.exists():
                shutil.rmtree(instance.root)
            print(f"Building {size} ... ", end="", flush=True)
            print(f"{build_store(instance, args.stories):.1f} s")
        measure_publish(instance, size, cold=True)
        measure_publish(instance, size, cold=False)

        # A kept instance's queue may hold rebuilds that earlier benches asked for and no worker ran; the files
        # were just rebuilt above, so they are dropped: sign-offs are timed with nothing queued before them.
        queue_for(instance.root).huey.flush()
        env = {**os.environ, "STORYBANK_INSTANCE": str(instance.root)}
        ds_port, app_port = free_port(), free_port()
        queued = {**env, "STORYBANK_JOBS_IMMEDIATE": "0"}
        # The worker publishes the sign-offs. Each process's log goes beside the instance, for a figure to be explained.
        for name, command, environ in (
            ("datasette", ["datasette", "--port", str(ds_port)], env),
            ("web", ["web", "--port", str(app_port)], queued),
            ("worker", ["worker"], queued),
        ):
            with open(root / f"{name}.log", "wb") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "stories.cli", *command], env=environ, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        wait_for(f"http://127.0.0.1:{ds_port}/public.json")
        wait_for(f"http://127.0.0.1:{app_port}/auth/login")
        bench_search(ds_port, 20)  # warm the page cache
        searches = bench_search(ds_port, args.searches)
        print("Datasette full-text search, public file, HTTP JSON API:", percentiles(searches))
        report(f"Datasette search p95, public file, {size}", f"{p95_ms(searches):.0f} ms", "<= 100 ms", p95_ms(searches) <= 100)
        rng = random.Random(5)
        pages = {
            "story page": [f"/stories/{rng.randint(1, args.stories)}" for _ in range(2000)],
            "story list": ["/stories/"],
        }
        for what, paths in pages.items():
            bench_pages(app_port, paths, 4, 5)  # warm up
            times = bench_pages(app_port, paths, args.users, args.requests)
            print(f"App {what}, {args.users} concurrent users:", percentiles(times))
            report(f"app {what} p95, {args.users} users, {size}", f"{p95_ms(times):.0f} ms", "<= 100 ms", p95_ms(times) <= 100)
        waiting = waiting_stories(instance)
        if waiting:
            times = sign_off_in_app(app_port, ds_port, instance, waiting)
            each = ", ".join(f"{t:.2f}" for t in times)
            print(f"A story signed off in the app, until Datasette's public file and the commissioners' file hold it: {each} s")
            median, worst = statistics.median(times), max(times)
            report(
                f"a sign-off reaches every published file (app form, worker, Datasette), {size}",
                f"median {median:.2f} s, max {worst:.2f} s (n={len(times)})",
                "<= 1 s",
                worst <= 1,
            )
        else:
            print("No story left waiting for sign-off in this instance: build it afresh to time publishing by change.")
        sizes = {path.name: path.stat().st_size for path in [instance.store_path, *instance.published_dir.glob("*.db")]}
        print("Sizes: " + ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in sizes.items()))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
