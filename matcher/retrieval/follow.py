"""Following the database in the background, so that a host serves another host's writes at once.

Without it a host notices a change at its next query, which then waits for the catch-up. A
:class:`Follower` thread waits on a :class:`~matcher.storage.notify.ChangeFeed` (NOTIFY on
PostgreSQL, polling on SQLite) and syncs the indexes as soon as the change number moves; queries
still check the change number themselves, so a missed notification never serves stale results for
longer than one query.
"""

from __future__ import annotations

import logging
import threading
import time

from matcher.retrieval.upkeep import IndexUpkeep
from matcher.storage.notify import ChangeFeed

log = logging.getLogger(__name__)
STEP = 0.5  # seconds between looks at the stop flag


class Follower:
    """Syncs ``upkeep`` whenever the database moves. Stateful: a thread between :meth:`start` and :meth:`stop`.

    Args:
        upkeep: the index upkeep of this process.
        poll: seconds between reads of the change number when not told of changes (SQLite, a lost
            connection; a safety net on PostgreSQL).
        listen: listen for PostgreSQL's notifications (False: poll only; for comparisons).

    Attributes:
        synced_at_: ``time.monotonic()`` of the last sync that changed the snapshot (None before).
    """

    def __init__(self, upkeep: IndexUpkeep, poll: float = 5.0, listen: bool = True) -> None:
        self.upkeep = upkeep
        self.poll = poll
        self.synced_at_: float | None = None
        self._feed = ChangeFeed(upkeep.store, poll, listen)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        """Whether changes are announced (PostgreSQL) rather than polled for."""
        return self._feed.listening

    def start(self) -> Follower:
        self._thread = threading.Thread(target=self._run, name="matcher-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10 * STEP)
        self._feed.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            snap = self.upkeep.snapshot_
            last = snap.change_no if snap is not None else -1
            try:
                if self._feed.wait(last, STEP) != last and not self._stop.is_set() and self.upkeep.sync():
                    self.synced_at_ = time.monotonic()
            except Exception:  # a sync that failed is tried again at the next change or poll
                log.exception("following the database: sync failed")
                self._stop.wait(self.poll)
