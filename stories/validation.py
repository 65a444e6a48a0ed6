"""Validation shared by every way in (web forms, CSV/JSONL import, CLI): one exception type."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from stories.text import clean

MAX_INTEGER = 2**63 - 1  # SQLite's largest integer: a larger one names nothing stored and fails a query


class Invalid(Exception):
    """Input that cannot be accepted; `problems` maps each field to what to fix."""

    def __init__(self, problems: Mapping[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems.items()))


class Problems:
    """Collects every problem in one pass so a user can fix them all at once."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.found.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.found:
            raise Invalid(self.found)


def text(value: Any) -> str:
    """A submitted value as stored text (stories.text.clean), stripped; '' for missing."""
    if value is None:
        return ""
    return clean(str(value)).strip()


def whole_number(value: Any) -> int | None:
    """A whole number as typed or sent ("12", " 7 ", "-3"), or None if it is not one SQLite can hold."""
    try:
        number = int(text(value))
    except ValueError:  # "", "x", "1.5", and digits int() does not read, such as "²"
        return None
    return number if -MAX_INTEGER - 1 <= number <= MAX_INTEGER else None


def visible(value: str) -> bool:
    """Whether text shows anything: spaces, zero-width and control characters alone are an empty field."""
    return any(unicodedata.category(character)[0] not in "CZ" for character in value)


def required_text(
    problems: Problems, data: Mapping[str, Any], field: str, label: str, max_length: int, *, missing: str = ""
) -> str:
    """Text that must be given; `missing` says, in the form's words, what to fill in."""
    value = text(data.get(field))
    if not visible(value):
        problems.add(field, missing or f"{label} is required.")
    elif len(value) > max_length:
        problems.add(field, f"{label} is {len(value):,} characters long; the limit is {max_length:,}.")
    return value


def optional_text(problems: Problems, data: Mapping[str, Any], field: str, label: str, max_length: int) -> str:
    value = text(data.get(field))
    if len(value) > max_length:
        problems.add(field, f"{label} is {len(value):,} characters long; the limit is {max_length:,}.")
    return value


def parse_date(
    problems: Problems, data: Mapping[str, Any], field: str, label: str, *, required: bool, missing: str = ""
) -> dt.date | None:
    value = data.get(field)
    if isinstance(value, dt.date):
        return value
    raw = text(value)
    if not raw:
        if required:
            problems.add(field, missing or f"Enter {label[0].lower()}{label[1:]}.")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.add(field, f"{label}: {raw[:40]!r} is not a date. Write it as year-month-day, for example 2025-03-14.")
        return None


def one_of(
    problems: Problems, data: Mapping[str, Any], field: str, label: str, choices: Iterable[str], *, missing: str = ""
) -> str:
    """One of `choices`. Nothing chosen gets `missing`, in the form's words; an unknown value (from a file or
    a script, never the form) is told the exact values it may take."""
    choices = list(choices)
    value = text(data.get(field))
    if not value:
        problems.add(field, missing or f"Choose {label[0].lower()}{label[1:]}.")
    elif value not in choices:
        problems.add(field, f"{label} must be one of {', '.join(choices)} (got {value[:40]!r}).")
    return value


def parse_bool(problems: Problems, data: Mapping[str, Any], field: str, label: str) -> bool:
    value = data.get(field)
    if isinstance(value, bool):
        return value
    raw = text(value).lower()
    if raw in {"yes", "y", "true", "1", "on"}:
        return True
    if raw in {"no", "n", "false", "0", "off", ""}:
        return False
    problems.add(field, f"{label} must be yes or no (got {raw[:40]!r}).")
    return False


def split_list(value: Any) -> list[str]:
    """A list from a form list, a JSON list, or text separated by ';' or ','."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [text(item) for item in value]
    else:
        raw = text(value)
        separator = ";" if ";" in raw else ","
        items = [part.strip() for part in raw.split(separator)]
    return [item for item in items if item]
