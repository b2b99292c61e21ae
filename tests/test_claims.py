"""Claims on texts without a vector: disjoint batches, leases that run out, stale claims dropped.

The vectors here are stand-ins (rows of ones): what is checked is who gets which text, not the model.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from matcher.storage import schema as t
from matcher.storage.claims import EmbedClaims
from matcher.storage.store import Store, text_hash

TEXTS = [f"evidence text {i}: wearable sensors for remote monitoring" for i in range(60)]


def _fill(store: Store, texts: list[str] = TEXTS) -> set[str]:
    with store.transaction() as conn:
        store.intern_texts(conn, texts)
    return {text_hash(x) for x in texts}


def _done(claims: EmbedClaims, batch: list[tuple[str, str]]) -> None:
    claims.complete([h for h, _x in batch], np.ones((len(batch), 4), np.float32))


# leases and concurrent claims are PostgreSQL's (SQLite keeps the single-process path)
postgres_only = pytest.mark.parametrize("store", ["postgres"], indirect=True)


def test_each_text_is_handed_out_once_until_all_have_vectors(store: Store) -> None:
    hashes = _fill(store)
    a = EmbedClaims(store, "m", "a")
    x, y = a.claim(25), a.claim(25)  # the second batch before the first is stored: other texts
    assert len(x) == len(y) == 25 and not {h for h, _ in x} & {h for h, _ in y}
    assert all(text_hash(text) == h for h, text in x + y)  # each hash comes with its own text
    _done(a, x)
    _done(a, y)
    rest = a.claim(100)
    assert {h for h, _ in x + y + rest} == hashes and len(rest) == 10
    _done(a, rest)
    assert a.claim(100) == [] and EmbedClaims(store, "m", "b").claim(100) == []
    p = a.progress()
    assert (p.embedded, p.remaining, p.claimed) == (60, 0, 0)
    assert EmbedClaims(store, "other model").progress().remaining == 60  # vectors are per model


@postgres_only
def test_concurrent_claims_never_overlap(store: Store) -> None:
    hashes = _fill(store)
    got: dict[int, list[str]] = {}
    all_hold_one = threading.Barrier(6, timeout=30)

    def work(i: int) -> None:
        claims = EmbedClaims(store, "m", f"w{i}")
        got[i] = []
        batch = claims.claim(3)
        all_hold_one.wait()  # six batches held at once, then each worker goes on at its own pace
        while batch:
            got[i] += [h for h, _x in batch]
            _done(claims, batch)
            batch = claims.claim(3)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    handed = [h for hs in got.values() for h in hs]
    assert sorted(handed) == sorted(hashes)  # every text once: none twice, none left out
    assert all(got.values())  # the work was shared
    with store.engine.connect() as conn:
        tallies = {w: n for w, n in conn.execute(select(t.embed_workers.c.worker, t.embed_workers.c.embedded))}
        assert conn.execute(select(func.count()).select_from(t.embed_claims)).scalar_one() == 0
    assert tallies == {f"w{i}": len(hs) for i, hs in got.items()}


@postgres_only
def test_a_dead_workers_batch_is_claimed_again_when_its_lease_runs_out(store: Store) -> None:
    _fill(store)
    dead, alive = EmbedClaims(store, "m", "dead", lease=0.5), EmbedClaims(store, "m", "alive", lease=0.5)
    lost = dead.claim(10)  # and then the worker dies: it never stores them
    others = alive.claim(100)
    assert len(others) == 50 and not {h for h, _ in lost} & {h for h, _ in others}
    _done(alive, others)
    assert alive.claim(100) == [] and alive.in_flight() == 10  # still leased to the dead worker
    time.sleep(0.6)
    again = alive.claim(100)
    assert sorted(again) == sorted(lost)
    _done(alive, again)
    _done(dead, lost)  # a worker that was only slow stores late: the first vectors stay, nothing doubles
    p = alive.progress()
    assert (p.embedded, p.remaining, p.claimed) == (60, 0, 0)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.vectors)).scalar_one() == 60


@postgres_only
def test_a_batch_whose_lease_just_ran_out_is_unfinished_work_not_in_flight(store: Store) -> None:
    _fill(store)
    dead, alive = EmbedClaims(store, "m", "dead", lease=0.5), EmbedClaims(store, "m", "alive", lease=0.5)
    lost = dead.claim(10)
    _done(alive, alive.claim(100))
    assert alive.claim(100) == [] and alive.in_flight() == alive.unfinished() == 10
    time.sleep(0.6)  # the lease runs out after a waiting worker's last claim and before it looks again:
    assert alive.in_flight() == 0 and alive.unfinished() == 10  # it must claim again, not stop (it did)
    _done(alive, alive.claim(100))
    assert alive.unfinished() == 0 and alive.progress().remaining == 0 and len(lost) == 10


@postgres_only
def test_a_live_worker_keeps_its_batch_by_renewing_the_lease(store: Store) -> None:
    _fill(store, TEXTS[:10])
    slow, other = EmbedClaims(store, "m", "slow", lease=1.0), EmbedClaims(store, "m", "other", lease=1.0)
    mine = slow.claim(10)
    for _ in range(6):  # 1.8 s in all, nearly twice the lease, renewed all along
        time.sleep(0.3)
        slow.renew()
        assert other.claim(10) == []
    time.sleep(1.2)  # it stops renewing (dies): the batch goes to the next worker
    assert sorted(other.claim(10)) == sorted(mine)


@postgres_only
def test_texts_stored_or_deleted_meanwhile_are_not_handed_out(store: Store) -> None:
    hashes = sorted(_fill(store, TEXTS[:5]))
    claims = EmbedClaims(store, "m", "a", lease=60)
    claims._enqueue()  # queued now, changed before anyone claims them
    store.put_vectors("m", hashes[:2], np.ones((2, 4), np.float32))  # e.g. the demo's shipped vectors
    with store.transaction() as conn:
        store._drop_orphan_texts(conn, [conn.execute(select(t.texts.c.id).where(
            t.texts.c.text_hash == hashes[2])).scalar_one()])
    assert sorted(h for h, _ in claims.claim(10)) == hashes[3:]
    with store.engine.connect() as conn:  # the stale claims are gone, not left to expire
        assert conn.execute(select(func.count()).select_from(t.embed_claims)).scalar_one() == 2


def test_sqlite_hands_out_texts_in_order_and_writes_no_claims(sqlite_store: Store) -> None:
    hashes = [text_hash(x) for x in TEXTS]
    _fill(sqlite_store)
    claims = EmbedClaims(sqlite_store, "m")
    assert not claims.shared
    first, second = claims.claim(40), claims.claim(40)
    assert [h for h, _ in first + second] == hashes  # the order they were stored in
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.embed_claims)).scalar_one() == 0
    with pytest.raises(ValueError):
        EmbedClaims(sqlite_store, "m", lease=0)
