"""The change number of a SQLite file, read again only when another connection committed.

Every query asks for the store's change number (:meth:`~matcher.retrieval.upkeep.IndexUpkeep.current`), so
a write is shown by the next question. Through SQLAlchemy that read cost about 0.8 ms a query, a twentieth of
a short search. SQLite counts commits for us: ``PRAGMA data_version`` on a connection changes when any *other*
connection, in this process or another, has committed since the last time it was asked (a few microseconds,
no table read). :class:`ChangeWatch` keeps one such connection that never writes, so every commit moves it,
and reads ``max(changes.id)`` only when it moved.

A file replaced under the same name (not something the matcher does: a restore writes into the live file
through SQLite) is noticed by its inode, and a forked child opens its own connection.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

CHANGE_NO = "SELECT coalesce(max(id), 0) FROM changes"


class ChangeWatch:
    """The change number of the SQLite database at ``path`` (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._opened: tuple[int, int, int] | None = None  # (pid, device, inode) the connection was opened for
        self._version: int | None = None
        self._change_no = 0

    def change_no(self) -> int:
        """The newest change id (0 when none): read from the table when a commit happened since the last call."""
        st = os.stat(self.path)
        here = (os.getpid(), st.st_dev, st.st_ino)
        with self._lock:
            if self._conn is None or self._opened != here:
                self._open(here)
            assert self._conn is not None
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                # read after data_version: a commit in between moves the version again, so it is read next time
                self._change_no = int(self._conn.execute(CHANGE_NO).fetchone()[0])
                self._version = version
            return self._change_no

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._opened is not None and self._opened[0] == os.getpid():
                self._conn.close()
            self._conn, self._opened, self._version = None, None, None

    def _open(self, here: tuple[int, int, int]) -> None:
        if self._conn is not None and self._opened is not None and self._opened[0] == here[0]:
            self._conn.close()  # the file was replaced (a connection inherited through fork is left alone)
        # autocommit: each statement its own read transaction, no lock held between calls; it never writes
        self._conn = sqlite3.connect(self.path.resolve().as_uri(), uri=True, check_same_thread=False,
                                     isolation_level=None, timeout=30)
        self._opened, self._version = here, None
