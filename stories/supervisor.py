"""Keep `storybank serve`'s processes running: one that dies is started again, the others carry on.

Each child (the app, the job worker, Datasette) is restarted on its own, after a delay that
grows while it keeps dying young (1 s, 2 s, 4 s ... 30 s) and resets once it has run for a
minute. One that dies young five times in a row is broken (a port in use, a bad setting), not
unlucky: then everything stops with a clear message. Ctrl-C or SIGTERM stops all of them.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # seconds, for the 1st, 2nd ... restart in a row
STEADY_AFTER = 60.0  # a child that ran this long before dying was not broken: its next restart is quick
GIVE_UP_AFTER = 5  # young deaths in a row
POLL_SECONDS = 0.2
WATCH_SECONDS = 0.5  # how often `watch` looks for work a process outside the family left half done
STOP_WAIT = 10.0  # seconds each child has to stop before it is killed


class GaveUp(Exception):
    """A child kept dying as soon as it started; everything was stopped."""


@dataclasses.dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    young_deaths: int = 0
    restart_at: float | None = None


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Start children, restart the ones that die, stop them all when asked."""

    def __init__(
        self,
        children: Sequence[Child],
        say: Callable[[str], Any],
        clock: Callable[[], float] = time.monotonic,
        after_a_death: Callable[[], Any] = lambda: None,
        watch: Callable[[], Any] = lambda: None,
    ):
        self.children = list(children)
        self.say = say
        self.clock = clock
        self.after_a_death = after_a_death  # what a child may have left half done, finished before it starts again
        self.watch = watch  # what any process (not only a child) may have left half done: looked at every WATCH_SECONDS
        self.stopping = False

    def run(self) -> None:
        """Until Ctrl-C or SIGTERM; raises GaveUp if a child cannot stay up."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        try:
            for child in self.children:
                self._start(child)
            next_watch = self.clock()
            while not self.stopping:
                time.sleep(POLL_SECONDS)
                self.check()
                if self.clock() >= next_watch and not self.stopping:
                    self.watch()
                    next_watch = self.clock() + WATCH_SECONDS
        finally:
            self.stop_all()

    def check(self) -> None:
        """Notice children that died, and start the ones whose delay is over."""
        now = self.clock()
        for child in self.children:
            if self.stopping:
                return
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._start(child)
                    self.say(f"Started the {child.name} again (pid {child.process.pid}).")
                continue
            returncode = child.process.poll() if child.process else None
            if returncode is None:
                continue
            young = now - child.started < STEADY_AFTER
            child.young_deaths = child.young_deaths + 1 if young else 1
            ended = how_it_ended(returncode)
            if child.young_deaths >= GIVE_UP_AFTER:
                raise GaveUp(
                    f"The {child.name} process keeps stopping ({child.young_deaths} times in a row, each within a minute"
                    f" of starting; last {ended}). Stopping Storybank: see the {child.name}'s messages above."
                )
            self.after_a_death()
            delay = RESTART_DELAYS[min(child.young_deaths, len(RESTART_DELAYS)) - 1]
            child.restart_at = now + delay
            self.say(
                f"The {child.name} process stopped ({ended}); starting it again in {delay:.0f} s. The other processes carry on."
            )

    def stop_all(self) -> None:
        running = [child.process for child in self.children if child.process and child.process.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command, env=child.env)
        child.started = self.clock()
        child.restart_at = None

    def _stop(self, *_: Any) -> None:
        self.stopping = True
