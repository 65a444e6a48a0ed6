"""CSV that a spreadsheet opens as data: a cell it would run as a formula gets a leading quote.

OWASP's rule for CSV injection: Excel, LibreOffice and Google Sheets run a cell that starts
with =, +, - or @ (or a tab or carriage return before one) as a formula, which can fetch URLs
or run commands. A leading ' makes them show it as text. Used by every CSV Storybank emits:
the app's exports and Datasette's .csv (stories.datasette_guard); the published files and
the JSON and HTML views keep the words exactly as told.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from stories.validation import Invalid

# Reading: a story told for an hour runs past csv's default cell limit (131,072 characters), which was a
# traceback; the files read are limited in size where they are uploaded.
FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE_WHEN = (",", '"', "\r", "\n", ";")
# A plain number ("-5", "+1.5") is data a spreadsheet reads as a number, never as a formula.
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """The value, with a leading ' if a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV (Python's csv dialect, as Datasette writes it), formula cells neutralised.

    A cell holding a semicolon is quoted too: where a spreadsheet's list separator is ";" (much of
    Europe), "x;=1+1" unquoted is read as two cells, the second a formula.
    """
    return "".join(",".join(_field(safe_cell(cell)) for cell in row) + "\r\n" for row in rows)


def _field(value: Any) -> str:
    text = "" if value is None else str(value)
    if any(special in text for special in QUOTE_WHEN):
        return '"' + text.replace('"', '""') + '"'
    return text


def neutralise_csv(text: str) -> str:
    """The same CSV with its formula cells neutralised; every other byte is as it was."""
    return csv_text(csv.reader(io.StringIO(text, newline="")))


@contextmanager
def read_as_csv() -> Iterator[None]:
    """Reading CSV in this block: a file the csv module cannot read is told as a problem with the file."""
    try:
        yield
    except csv.Error as error:
        raise Invalid({"file": f"The file cannot be read as CSV ({error})."}) from None
