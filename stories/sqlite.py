"""The one SQLite library every part of Storybank uses: the newest available, the one Datasette and sqlite-utils pick.

pysqlite3-binary (a dependency on x86-64 Linux) brings a current SQLite; Datasette and sqlite-utils
switch to it by themselves when it is installed, so everything else imports `sqlite3` from here
to read and write the same files with the same library. Where it is missing, Python's own SQLite
is used. Its `secure_delete` default may be off: every connection that deletes sets it itself
(stories/db.py, pipelines/publish.py).
"""

from __future__ import annotations

from pathlib import Path

try:
    from pysqlite3 import dbapi2 as sqlite3
except ImportError:  # another platform: Python's own SQLite
    import sqlite3

# FTS5's 'secure-delete' option (SQLite 3.42) removes a deleted row's words from the search index
# at once. A file whose index used it can be read only by SQLite 3.42 or later.
FTS5_SECURE_DELETE = sqlite3.sqlite_version_info >= (3, 42, 0)

# How long a reader of a published file waits while a change to it commits (milliseconds, as a rule).
PUBLISHED_BUSY_SECONDS = 10.0


def read_published(path: Path | str, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A published file opened to read: read-only, with SQLite's locks.

    Published files are changed where they lie, in one transaction at a time (pipelines/publish.py),
    so never `immutable=1`: that tells SQLite nobody writes, and a reader could see half a change.
    A reader waits out a change's commit; several reads that must agree go in one transaction (BEGIN).
    """
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    return sqlite3.connect(
        uri, uri=True, isolation_level=None, timeout=PUBLISHED_BUSY_SECONDS, check_same_thread=check_same_thread
    )


__all__ = ["FTS5_SECURE_DELETE", "read_published", "sqlite3"]
