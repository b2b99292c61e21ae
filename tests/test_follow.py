"""Following the database: a write through one host is served by another without a query asking for it,
at once on PostgreSQL (NOTIFY; polling is set to a minute, so only the notification can explain it) and
within the polling interval on SQLite.

Each "host" is a matcher with its own store object, engine, index folder and follower, as in a process
of its own on another machine.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from matcher.domain import Filters, Organisation, Query
from matcher.engine import Matcher
from matcher.retrieval.embed import Encoder
from matcher.retrieval.follow import Follower
from matcher.storage.notify import ChangeFeed
from matcher.storage.store import Store

ORGS = [("Twente Microfluidics BV", "Organ-on-chip platforms for drug screening."),
        ("Slimme Zorg BV", "Sensoren en software voor valpreventie bij ouderen thuis."),
        ("Nijmegen Imaging Lab", "MRI reconstruction with deep learning for prostate cancer.")]
NEW = ("Cardio Wearables BV", "A patch that records the ECG for two weeks and detects atrial fibrillation.")


def _org(name: str, description: str) -> Organisation:
    return Organisation(name=name, kind="startup", country="NL", description=description)


def _lag(writer: Store, reader: Matcher, follower: Follower, limit: float = 30.0) -> float:
    """Seconds from a committed write through ``writer`` until ``reader``'s snapshot has it."""
    start = time.monotonic()
    writer.upsert_organisations([_org(*NEW)])
    target = writer.change_no()
    while time.monotonic() - start < limit:
        snap = reader.snapshot_
        if snap is not None and snap.change_no >= target:
            return time.monotonic() - start
        time.sleep(0.005)
    raise AssertionError(f"not served after {limit} s (follower listening: {follower.listening})")


@pytest.mark.parametrize(("store", "poll"), [("postgres", 60.0), ("sqlite", 0.3)], indirect=["store"])
def test_a_write_on_one_host_is_served_by_another(store: Store, poll: float, encoder: Encoder,
                                                   tmp_path: Path) -> None:
    store.upsert_organisations([_org(*o) for o in ORGS])
    other = Matcher(Store(store.url), encoder, tmp_path / "host-b")
    other.sync()
    follower = Follower(other.upkeep, poll).start()
    try:
        time.sleep(0.2)  # the follower is listening (a write before it listens is caught by its first read)
        lag = _lag(store, other, follower)
    finally:
        follower.stop()
        other.store.close()
    assert follower.listening == (store.engine.dialect.name == "postgresql")
    assert lag < 5.0, f"{lag:.2f} s"  # embedding the new texts and catching up; polling alone: a minute
    # served from the snapshot the follower built: the query finds it without syncing first
    change = other.snapshot_.change_no if other.snapshot_ else -1
    found = other.search(Query(text="ECG patch for atrial fibrillation", k=1, filters=Filters()))
    assert found[0].organisation.name == NEW[0] and other.snapshot_ and other.snapshot_.change_no == change


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_the_feed_falls_back_to_polling_when_its_connection_is_lost(store: Store) -> None:
    feed = ChangeFeed(store, poll=0.2)
    last = feed.wait(-1, 0.1)  # connects and reads the number once
    assert last == store.change_no()
    assert feed._conn is not None
    feed._conn.close()  # the connection breaks (a server restart, a network cut)
    store.upsert_organisations([_org(*NEW)])
    deadline = time.monotonic() + 10
    while (n := feed.wait(last, 0.1)) == last and time.monotonic() < deadline:
        pass
    feed.close()
    assert n == store.change_no() > last


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_with_a_sync_wait_a_query_during_a_long_catch_up_is_answered_from_the_snapshot_before_it(
        store: Store, encoder: Encoder, tmp_path: Path) -> None:
    store.upsert_organisations([_org(*o) for o in ORGS])
    m = Matcher(store, encoder, tmp_path / "host")
    m.sync()
    assert m.upkeep.snapshot_ is not None
    before = m.upkeep.snapshot_.change_no
    ask = Query(text="ECG patch for atrial fibrillation", k=3, filters=Filters())
    m.upkeep.sync_wait = 0.3
    m.upkeep._lock.acquire()  # a catch-up under way (the follower's): at a million organisations it takes minutes
    try:
        store.upsert_organisations([_org(*NEW)])
        t0 = time.monotonic()
        stale = m.search(ask)
        waited = time.monotonic() - t0
        assert m.upkeep.snapshot_.change_no == before
    finally:
        m.upkeep._lock.release()
    assert waited >= 0.3  # it waited for the catch-up as long as it was told to, then answered
    assert NEW[0] not in [s.organisation.name for s in stale] and len(stale) == 3
    m.upkeep.sync_wait = None  # unset (the default): a query waits until the catch-up ends
    fresh = m.search(ask)
    assert fresh[0].organisation.name == NEW[0] and m.upkeep.snapshot_.change_no == store.change_no()



@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_queries_during_a_long_catch_up_share_one_catch_up_thread(store: Store, encoder: Encoder,
                                                                   tmp_path: Path) -> None:
    """Queries arriving while a catch-up of minutes runs join it instead of each starting a thread that then
    waits for the sync lock (at a hundred queries a second that would be thousands of threads)."""
    store.upsert_organisations([_org(*o) for o in ORGS])
    m = Matcher(store, encoder, tmp_path / "host")
    m.sync()
    ask = Query(text="ECG patch for atrial fibrillation", k=3, filters=Filters())
    m.upkeep.sync_wait = 0.05
    m.upkeep._lock.acquire()  # the first catch-up is held inside sync, as a long one would be
    try:
        store.upsert_organisations([_org(*NEW)])
        answers = []
        askers = [threading.Thread(target=lambda: answers.append(m.search(ask))) for _ in range(8)]
        for t in askers:
            t.start()
        for t in askers:
            t.join()
        catching_up = [t for t in threading.enumerate() if t.name == "matcher-catch-up"]
        assert len(answers) == 8 and all(NEW[0] not in [s.organisation.name for s in a] for a in answers)
        assert len(catching_up) == 1
    finally:
        m.upkeep._lock.release()
    catching_up[0].join(timeout=60)
    assert m.upkeep.snapshot_ is not None and m.upkeep.snapshot_.change_no == store.change_no()
    assert m.search(ask)[0].organisation.name == NEW[0]
