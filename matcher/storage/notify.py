"""Hearing of changes made by other hosts: LISTEN/NOTIFY on PostgreSQL, polling as the fallback.

Every insert into ``changes`` makes PostgreSQL send ``NOTIFY matcher_changes`` with the change
number when its transaction commits (a trigger, migration 0008), whichever host or tool wrote it.
:class:`ChangeFeed` listens on a connection of its own. Where there is nothing to listen to (SQLite),
or while the listening connection is lost, it reads the change number every ``poll`` seconds instead.

Example::

    feed = ChangeFeed(store, poll=5.0)
    n = feed.wait(last=12, timeout=1.0)   # the change number: > 12 as soon as another host wrote
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from matcher.storage.store import Store

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
CHANNEL = "matcher_changes"


class ChangeFeed:
    """Waits for the store's change number to move.

    Args:
        store: the store to follow.
        poll: seconds between reads of the change number when not listening (SQLite, a lost connection).
        listen: listen for notifications where the database sends them (False: poll only, as on SQLite).
    """

    def __init__(self, store: Store, poll: float = 5.0, listen: bool = True) -> None:
        self.store = store
        self.poll = poll
        self.listening = listen and store.engine.dialect.name == "postgresql"
        self._conn: psycopg.Connection[Any] | None = None  # listening; opened on first use and after a loss
        self._last_read = 0.0
        self._lock = threading.Lock()

    def wait(self, last: int, timeout: float) -> int:
        """The change number after at most about ``timeout`` seconds: read at once when a notification
        arrives, and every ``poll`` seconds in any case (a missed notification, SQLite); else ``last``."""
        with self._lock:
            if self.listening:
                heard = self._listen(timeout)
            else:
                heard = False
                time.sleep(timeout)
            if heard or time.monotonic() - self._last_read >= self.poll:
                self._last_read = time.monotonic()
                return self.store.change_no()
            return last

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _listen(self, timeout: float) -> bool:
        """True when a notification arrived within ``timeout`` s; False on a timeout or a lost connection."""
        try:
            if self._conn is None:
                import psycopg

                url = self.store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._conn = psycopg.connect(url, autocommit=True)
                self._conn.execute(f"LISTEN {CHANNEL}")
                self._last_read = 0.0  # changes made before the LISTEN: read the number once
            got = any(True for _n in self._conn.notifies(timeout=timeout, stop_after=1))
            if got:  # a burst of commits: one catch-up for all of them
                for _n in self._conn.notifies(timeout=0.001):
                    pass
            return got
        except Exception as exc:  # noqa: BLE001 - whatever broke the connection, polling takes over
            log.warning("not listening for changes (%s); polling every %s s", exc, self.poll)
            self._drop()
            time.sleep(timeout)
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self._conn = None
