"""Serve the app from several processes sharing one listening socket (`storybank web --processes N`).

Python runs one thread at a time per process, so one waitress process uses one core however many
threads it has: at 20 users the pages queued behind each other on a 2-core machine (issue 18). The
socket is bound once, here, so a port in use fails once with a clear message; each process forked
after it accepts from it with its own threads and builds its own app (no database connection
crosses a fork). Sessions and CSRF tokens are signed cookies checked against the store with the
instance's secret key, so any process answers any request. The parent starts a process again if
one dies, and takes them all down when it is stopped or dies.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

BIND_TRIES = 10  # a restart may find the port held a moment longer by the processes of the one before
PR_SET_PDEATHSIG = 1


def default_processes() -> int:
    """One per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def listen(host: str, port: int) -> socket.socket:
    for attempt in range(BIND_TRIES):
        try:
            return socket.create_server((host, port), backlog=1024)
        except OSError as error:
            if error.errno != errno.EADDRINUSE or attempt == BIND_TRIES - 1:
                raise
            time.sleep(0.3)
    raise AssertionError("unreachable")


def serve(make_app: Callable[[], Any], host: str, port: int, processes: int, threads: int) -> None:
    """Until SIGTERM or Ctrl-C; with one process, in this one."""
    sock = listen(host, port)
    if processes <= 1:
        _serve_here(make_app, sock, threads)
        return
    children: set[int] = set()
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        _signal_all(children)  # waitpid below returns as they end (a signal alone does not interrupt it)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        for _ in range(processes):
            children.add(_fork(make_app, sock, threads))
        while not stopping:
            try:
                pid, _status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping:  # one died (killed, out of memory): the others carry on while it starts again
                time.sleep(0.5)
                children.add(_fork(make_app, sock, threads))
    finally:
        _signal_all(children)
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _signal_all(children: set[int]) -> None:
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _fork(make_app: Callable[[], Any], sock: socket.socket, threads: int) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        _die_with_parent()
        _serve_here(make_app, sock, threads)
    except BaseException:  # a forked child must never return into the parent's code
        traceback.print_exc()
        code = 1
    os._exit(code)


def _die_with_parent() -> None:
    """A parent killed with SIGKILL cannot stop its processes: Linux sends them SIGTERM instead."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: there, a parent killed outright leaves them to be stopped by hand
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)


def _serve_here(make_app: Callable[[], Any], sock: socket.socket, threads: int) -> None:
    from waitress import serve as waitress_serve

    waitress_serve(make_app(), sockets=[sock], threads=threads, ident="storybank")
