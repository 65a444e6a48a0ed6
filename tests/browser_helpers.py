"""Helpers for the browser test: real Storybank processes on free ports, and screenshots of failed steps."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# Debian's chromium, kept off the (closed) internet: no background fetches, updates, sync or QUIC.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def storybank_command() -> list[str]:
    """The `storybank` command of this environment, as a user would type it."""
    script = Path(sys.executable).with_name("storybank")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stories.cli"]


def run_storybank(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*storybank_command(), *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"storybank {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Storybank:
    """The app, a job worker and Datasette, each started alone as `storybank serve` would start them."""

    instance: Path
    logs: Path
    app_port: int = field(default_factory=free_port)
    datasette_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)  # extra environment, e.g. a small upload limit

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def datasette_url(self) -> str:
        return f"http://127.0.0.1:{self.datasette_port}"

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in ("STORYBANK_JOBS_IMMEDIATE", "STORYBANK_REDIS_URL")}
        env.update(
            {
                "STORYBANK_INSTANCE": str(self.instance),
                "STORYBANK_APP_URL": self.app_url,
                "STORYBANK_DATASETTE_URL": self.datasette_url,
                "ORT_DISABLE_TELEMETRY": "1",
                "PYTHONUNBUFFERED": "1",
                **self.settings,
            }
        )
        return env

    def start(self, timeout: float = 45) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        commands = {
            "app": ["web", "--host", "127.0.0.1", "--port", str(self.app_port)],
            "worker": ["worker"],
            "datasette": ["datasette", "--host", "127.0.0.1", "--port", str(self.datasette_port)],
        }
        for name, args in commands.items():
            log = self.logs / f"{name}.log"
            with log.open("wb") as sink:
                popen = subprocess.Popen(
                    [*storybank_command(), *args],
                    env=self.env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            self.processes.append(Process(name, popen, log))
        deadline = time.monotonic() + timeout
        self._wait_for("app", f"{self.app_url}/auth/login", deadline)
        self._wait_for("datasette", f"{self.datasette_url}/public.json", deadline)
        self._check_alive()

    def _process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def _wait_for(self, name: str, url: str, deadline: float) -> None:
        process = self._process(name)
        while True:
            if process.popen.poll() is not None:
                raise RuntimeError(f"The {name} stopped (exit {process.popen.returncode}):\n{process.tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"The {name} did not answer at {url}:\n{process.tail()}")
            time.sleep(0.2)

    def _check_alive(self) -> None:
        for process in self.processes:
            if process.popen.poll() is not None:
                raise RuntimeError(f"The {process.name} stopped (exit {process.popen.returncode}):\n{process.tail()}")

    def stop(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=5)


@contextlib.contextmanager
def running_demo(root: Path, settings: dict[str, str] | None = None) -> Iterator[Storybank]:
    """A demo instance in `root` (organisations, users one per role, interventions, stories), served until the end."""
    running = Storybank(instance=root / "instance", logs=root / "logs", settings=settings or {})
    run_storybank(["init"], running.env)
    run_storybank(["demo"], running.env)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, closed at the end."""
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def log_in(page: Any, app_url: str, username: str) -> None:
    """Log in through the app's real form with the demo password, and wait until the app says so."""
    from playwright.sync_api import expect

    from stories.demo import DEMO_PASSWORD

    page.goto(f"{app_url}/auth/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


class Steps:
    """Named steps of a journey; a failing step saves a full-page screenshot of every open page, and the logs."""

    def __init__(self, browser: Any, storybank: Storybank, test_name: str):
        self.browser = browser
        self.storybank = storybank
        self.folder = ARTIFACTS / slug(test_name)
        self.number = 0
        self.timings: list[tuple[str, float]] = []
        self.page_errors: list[str] = []

    def watch(self, page: Any) -> Any:
        """Collect the page's uncaught script errors: the pages' JavaScript must not fail."""
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        return page

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.number += 1
        started = time.monotonic()
        try:
            yield
        except BaseException as error:
            saved = self.save(name)
            if hasattr(error, "add_note"):
                error.add_note(f"Browser step {self.number} failed: {name!r}. Screenshots and logs: {saved}")
            raise
        finally:
            self.timings.append((name, time.monotonic() - started))

    def save(self, name: str) -> Path:
        folder = self.folder
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        stem = f"{self.number:02d}-{slug(name)}"
        for c, context in enumerate(self.browser.contexts):
            for p, page in enumerate(context.pages):
                base = folder / f"{stem}-context{c}-page{p}"
                with contextlib.suppress(Exception):
                    page.screenshot(path=f"{base}.png", full_page=True, timeout=10_000)
                with contextlib.suppress(Exception):
                    base.with_suffix(".html").write_text(f"<!-- {page.url} -->\n{page.content()}")
        for process in self.storybank.processes:
            if process.log.exists():
                shutil.copy(process.log, folder / process.log.name)
        if self.page_errors:
            (folder / "page-errors.txt").write_text("\n".join(self.page_errors))
        return folder


def poll(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
