"""`storybank serve`'s supervisor: a child that dies is started again after a growing delay; one that cannot stay up stops all."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stories.supervisor import GIVE_UP_AFTER, RESTART_DELAYS, STEADY_AFTER, Child, GaveUp, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def child(name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code], env={})


def settle(supervisor: Supervisor) -> None:
    """Until every running child has either exited or is still running after a moment."""
    for item in supervisor.children:
        if item.process and item.restart_at is None:
            try:
                item.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass  # still running: fine


def test_a_dying_child_is_restarted_after_a_growing_delay_and_the_other_is_left_alone():
    clock, said = Clock(), []
    steady = child("app", "import time; time.sleep(60)")
    crashing = child("worker", "raise SystemExit(3)")
    supervisor = Supervisor([steady, crashing], say=said.append, clock=clock)
    try:
        for item in supervisor.children:
            supervisor._start(item)
        first_app = steady.process.pid
        delays = []
        for _ in range(GIVE_UP_AFTER - 1):
            settle(supervisor)
            supervisor.check()  # notices the death
            delays.append(crashing.restart_at - clock.now)
            clock.now = crashing.restart_at
            supervisor.check()  # starts it again
        assert delays == list(RESTART_DELAYS[: GIVE_UP_AFTER - 1])
        assert "The worker process stopped (exit code 3); starting it again in 1 s. The other processes carry on." in said
        assert said.count(f"Started the worker again (pid {crashing.process.pid}).") == 1
        assert steady.process.pid == first_app and steady.process.poll() is None
        settle(supervisor)
        with pytest.raises(GaveUp, match="The worker process keeps stopping"):
            supervisor.check()
    finally:
        supervisor.stop_all()
    assert steady.process.poll() is not None  # stopping stops everyone


def test_a_child_that_ran_a_long_time_before_dying_is_restarted_quickly():
    clock, said = Clock(), []
    crashing = child("datasette", "raise SystemExit(1)")
    supervisor = Supervisor([crashing], say=said.append, clock=clock)
    try:
        supervisor._start(crashing)
        crashing.young_deaths = GIVE_UP_AFTER - 1
        clock.now += STEADY_AFTER + 1  # it had been up for a while
        settle(supervisor)
        supervisor.check()
        assert crashing.restart_at - clock.now == RESTART_DELAYS[0]
    finally:
        supervisor.stop_all()
