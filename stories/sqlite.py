"""The one SQLite library every part of Storybank uses: the newest available, the one Datasette and sqlite-utils pick.

pysqlite3-binary (a dependency on x86-64 Linux) brings a current SQLite; Datasette and sqlite-utils
switch to it by themselves when it is installed, so everything else imports `sqlite3` from here
to read and write the same files with the same library. Where it is missing, Python's own SQLite
is used. Its `secure_delete` default may be off: every connection that deletes sets it itself
(stories/db.py, pipelines/publish.py).
"""

from __future__ import annotations

try:
    from pysqlite3 import dbapi2 as sqlite3
except ImportError:  # another platform: Python's own SQLite
    import sqlite3

# FTS5's 'secure-delete' option (SQLite 3.42) removes a deleted row's words from the search index
# at once. A file whose index used it can be read only by SQLite 3.42 or later.
FTS5_SECURE_DELETE = sqlite3.sqlite_version_info >= (3, 42, 0)

__all__ = ["FTS5_SECURE_DELETE", "sqlite3"]
