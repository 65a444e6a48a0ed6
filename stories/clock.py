"""Time in one place, so tests can move it and every record says UTC."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now_iso() -> str:
    return now().isoformat(timespec="seconds")


def today() -> dt.date:
    return now().date()
