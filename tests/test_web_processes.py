"""`storybank web` serves from several processes, one per core (issue 18): a person logged in stays
logged in whichever process answers, a form's CSRF token from one is accepted by another, and a
process that dies is replaced while the others answer, and stopping the app stops them all."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from browser_helpers import free_port, storybank_command

from conftest import PASSWORD, wait_for


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def csrf(page: str) -> str:
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def test_a_login_and_its_forms_work_whichever_process_answers(instance, users, processes, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = start(processes, instance, tmp_path, port)
    wait_for(lambda: len(children(app.pid)) == 2, 60, "two processes serving the app")
    served_by = children(app.pid)

    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    wait_for(lambda: b"Log in" in browser.open(f"{url}/auth/login", timeout=5).read(), 60, "the app to answer")
    token = csrf(browser.open(f"{url}/auth/login").read().decode())
    login = {"csrf_token": token, "username": "worker", "password": PASSWORD}
    browser.open(f"{url}/auth/login", urllib.parse.urlencode(login).encode())
    ticks = {pid: cpu_ticks(pid) for pid in served_by}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(lambda _: browser.open(f"{url}/stories/", timeout=30).read().decode(), range(200)))
    assert all("Stories of" in page for page in pages)  # logged in on every answer
    assert all(cpu_ticks(pid) > ticks[pid] for pid in served_by), "one process answered everything"

    tokens = {csrf(page) for page in pages}
    for token in tokens:  # each page's form token (from either process) is accepted by whichever answers the form
        try:
            browser.open(f"{url}/stories/new", urllib.parse.urlencode({"csrf_token": token}).encode())
        except urllib.error.HTTPError as error:
            assert error.code == 422, error.read().decode()[:500]  # the empty form's problems, not "This form has expired" (400)

    os.kill(served_by[0], signal.SIGKILL)
    answered = [browser.open(f"{url}/stories/", timeout=30).status for _ in range(20)]
    assert answered == [200] * 20  # the other process answers meanwhile
    wait_for(lambda: len([pid for pid in children(app.pid) if alive(pid)]) == 2, 30, "the killed process replaced")

    replaced = children(app.pid)
    app.send_signal(signal.SIGTERM)  # as storybank serve stops it
    app.wait(timeout=15)
    wait_for(lambda: not any(alive(pid) for pid in [*served_by, *replaced]), 15, "every process to stop")


def test_a_parent_killed_outright_takes_its_processes_with_it_freeing_the_port(instance, processes, tmp_path):
    port = free_port()
    app = start(processes, instance, tmp_path, port)
    wait_for(lambda: len(children(app.pid)) == 2, 60, "two processes serving the app")
    served_by = children(app.pid)
    os.kill(app.pid, signal.SIGKILL)
    wait_for(lambda: not any(alive(pid) for pid in served_by), 30, "the processes to stop")
    wait_for(lambda: _port_free(port), 30, "the port to be free")


def start(processes, instance, tmp_path, port: int):
    env = {k: v for k, v in os.environ.items() if k not in ("STORYBANK_JOBS_IMMEDIATE", "STORYBANK_REDIS_URL")}
    env.update(STORYBANK_INSTANCE=str(instance.root))
    with (tmp_path / "web.log").open("wb") as log:
        return processes([*storybank_command(), "web", "--port", port, "--processes", "2"], env=env, stdout=log, stderr=log)


def _port_free(port: int) -> bool:
    done = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if done.returncode != 0:  # no ss: try to connect instead
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except OSError:
            return True
        return False
    return not done.stdout.strip()


def test_a_port_in_use_is_said_once_in_plain_words(instance, processes, tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = {**os.environ, "STORYBANK_INSTANCE": str(instance.root)}
        started = time.monotonic()
        done = subprocess.run(
            [*storybank_command(), "web", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode != 0
    assert f"Could not listen on 127.0.0.1:{port}: Address already in use." in done.stderr
    assert "Traceback" not in done.stderr and time.monotonic() - started < 30
