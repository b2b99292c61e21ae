"""Claims on texts that wait for a vector, so that several workers or hosts share a large import.

On PostgreSQL the work is a queue in ``embed_claims``, one row per (model, text hash) without a
vector. A worker takes a batch with ``SELECT ... FOR UPDATE SKIP LOCKED`` and stamps it with its name
and a lease: while the lease runs nobody else takes those rows, so no text is embedded twice. A
worker that dies (SIGKILL, a lost host) leaves its lease to expire, and the next claim takes the batch
again. Storing the vectors deletes the claims and adds to the worker's tally (``embed_workers``) in
the same transaction. When no row is free, the texts that have neither a vector nor a claim are added
(one worker at a time, under an advisory lock), so texts imported meanwhile are picked up too.

SQLite has a single writer and keeps the single-process path: a claim is simply the next texts
without a vector, and nothing is written until the vectors are stored.

Example::

    claims = EmbedClaims(store, encoder.model_id, lease=300)
    while batch := claims.claim(256):
        claims.complete([h for h, _ in batch], encoder.encode_documents([x for _, x in batch]))
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, Connection, delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from matcher.storage import schema as t
from matcher.storage.store import Store, now

DEFAULT_LEASE = 60.0  # seconds a claimed batch stays with its worker unless renewed; renewed while it is embedded
WORKERS_KEPT_DAYS = 7  # tallies of workers not seen for this long are deleted
MAX_ATTEMPTS = 5  # a text claimed this often without being stored (it crashes its workers) is left alone


@dataclass(frozen=True)
class EmbedProgress:
    """How far the embedding of the stored texts with one model is (all workers together).

    Attributes:
        embedded: texts that have a vector for the model.
        remaining: texts that have none yet.
        claimed: of the remaining, those under a running lease (being embedded now; PostgreSQL only).
    """

    embedded: int
    remaining: int
    claimed: int


def worker_name() -> str:
    """A name for this worker that no other process on any host shares: ``host:pid:random``."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class EmbedClaims:
    """One worker's claims on the texts without a vector for ``model_id``.

    Args:
        store: the store whose texts are embedded.
        model_id: the encoder's model id; vectors of other models are not this worker's business.
        worker: this worker's name (default :func:`worker_name`).
        lease: seconds a claimed batch stays with this worker before another may take it (> 0).
    """

    def __init__(self, store: Store, model_id: str, worker: str | None = None, lease: float = DEFAULT_LEASE) -> None:
        if lease <= 0:
            raise ValueError("the lease must be positive")
        self.store = store
        self.model_id = model_id
        self.worker = worker or worker_name()
        self.lease = lease
        self.shared = store.engine.dialect.name == "postgresql"
        self._renewed = 0.0  # time.monotonic() of the last claim or renewal
        self._may_add = True  # False once a look for texts to add to the queue found none
        self._after = 0  # SQLite: the largest text id handed out so far (texts are handed out in id order)

    def claim(self, n: int) -> list[tuple[str, str]]:
        """Up to ``n`` (text hash, text) pairs for this worker to embed; empty when none is free.

        When the queue is empty the texts without a vector are added to it, unless this worker's last
        look found none to add (each look reads every text): texts stored after that are left to the
        next worker or sync."""
        if not self.shared:
            return self._next_missing(n)
        for _attempt in range(3):  # a batch whose texts were all stored or deleted meanwhile: take another
            got, stale = self._take(n)
            if not got and not stale and self._may_add:
                self._may_add = self._enqueue() > 0
                got, stale = self._take(n)
            if got or not stale:
                return got
        return []

    def complete(self, hashes: Sequence[str], matrix: np.ndarray) -> None:
        """Store the vectors (rows of ``matrix``) of ``hashes`` and release their claims, in one transaction."""
        if not self.shared:
            self.store.put_vectors(self.model_id, hashes, matrix)
            return
        # in hash order: two workers storing the same texts (a lease that ran out) lock them in the same order
        rows = sorted(({"model_id": self.model_id, "text_hash": h, "dim": int(matrix.shape[1]),
                        "vector": np.ascontiguousarray(v, dtype=np.float32).tobytes()} for h, v in zip(hashes, matrix)),
                      key=lambda r: r["text_hash"])
        w = t.embed_workers
        stamp = now()
        tally = pg_insert(w).values(worker=self.worker, model_id=self.model_id, embedded=len(rows),
                                    started_at=stamp, seen_at=stamp)
        tally = tally.on_conflict_do_update(index_elements=[w.c.worker],
                                            set_={"embedded": w.c.embedded + len(rows), "seen_at": stamp})
        with self.store.transaction() as conn:
            if rows:  # a worker whose lease ran out may store a text another stored first: keep the first
                conn.execute(pg_insert(t.vectors).on_conflict_do_nothing(), rows)
            self._release(conn, sorted(hashes))
            conn.execute(tally)

    def renew(self) -> None:
        """Extend the lease on this worker's claims while it embeds them (at most every quarter lease), so that
        the lease can be short: only a worker that stopped renewing, a dead one, loses its batch."""
        if not self.shared or time.monotonic() - self._renewed < self.lease / 4:
            return
        c = t.embed_claims
        with self.store.transaction() as conn:
            conn.execute(update(c).where((c.c.model_id == self.model_id) & (c.c.worker == self.worker))
                         .values(expires_at=func.now() + dt.timedelta(seconds=self.lease)))
        self._renewed = time.monotonic()

    def progress(self) -> EmbedProgress:
        """Texts with and without a vector for the model, and how many are claimed right now."""
        v = t.vectors
        joined = t.texts.outerjoin(v, (v.c.text_hash == t.texts.c.text_hash) & (v.c.model_id == self.model_id))
        with self.store.engine.connect() as conn:
            total, embedded = conn.execute(select(func.count(t.texts.c.id), func.count(v.c.text_hash))
                                           .select_from(joined)).one()
        return EmbedProgress(int(embedded), int(total) - int(embedded), self.in_flight())

    def in_flight(self) -> int:
        """Claims under a running lease (by any worker): texts that someone is embedding now."""
        return self._count(t.embed_claims.c.expires_at >= func.now())

    def unfinished(self) -> int:
        """Claims someone may still complete: under a running lease, or free to take (queued, or a dead
        worker's lease ran out) and not failed too often. A worker that waits stops only when this is 0:
        counting only running leases let it stop in the moment a dead worker's lease ran out, between
        its last claim and this count, with that batch left undone."""
        c = t.embed_claims.c
        return self._count((c.expires_at >= func.now()) | (c.attempts < MAX_ATTEMPTS))

    def _count(self, cond: ColumnElement[bool]) -> int:
        """This model's claims that meet ``cond`` (0 on SQLite, which keeps no claims)."""
        if not self.shared:
            return 0
        c = t.embed_claims
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(c).where(
                (c.c.model_id == self.model_id) & cond)).scalar_one())

    # ---- PostgreSQL: the queue ---------------------------------------------------------------
    def _take(self, n: int) -> tuple[list[tuple[str, str]], bool]:
        """Claim up to ``n`` free rows; returns the claimed texts and whether some claims were stale (their
        text was stored or deleted meanwhile; those claims are dropped)."""
        # the batch is chosen once, in a materialised CTE: a ``WHERE ... IN (subquery LIMIT n)`` may be
        # evaluated more than once by the planner and then claim more than n rows
        take = text("""
            WITH free AS MATERIALIZED (
                SELECT text_hash FROM embed_claims
                WHERE model_id = :m AND attempts < :max AND (expires_at IS NULL OR expires_at < now())
                ORDER BY expires_at ASC NULLS LAST  -- a dead worker's batch first, then fresh ones
                LIMIT :n FOR UPDATE SKIP LOCKED)
            UPDATE embed_claims AS c
            SET worker = :w, attempts = c.attempts + 1, expires_at = now() + make_interval(secs => :lease)
            FROM free WHERE c.model_id = :m AND c.text_hash = free.text_hash
            RETURNING c.text_hash""").bindparams(m=self.model_id, max=MAX_ATTEMPTS, n=n, w=self.worker,
                                                  lease=float(self.lease))
        v = t.vectors
        with self.store.transaction() as conn:
            hashes = list(conn.execute(take).scalars())
            self._renewed = time.monotonic()
            if not hashes:
                return [], False
            have = select(v.c.text_hash).where((v.c.model_id == self.model_id) & v.c.text_hash.in_(hashes))
            done = set(conn.execute(have).scalars())
            found = {h: x for h, x in conn.execute(select(t.texts.c.text_hash, t.texts.c.text)
                                                   .where(t.texts.c.text_hash.in_(hashes)))}
            stale = [h for h in hashes if h in done or h not in found]
            self._release(conn, stale)
        return [(h, found[h]) for h in hashes if h not in done and h in found], bool(stale)

    def _enqueue(self) -> int:
        """Add a row for every text that has neither a vector nor a claim for the model; returns how many."""
        v, c = t.vectors, t.embed_claims
        missing = (select(literal(self.model_id), t.texts.c.text_hash, literal(0))
                   .select_from(t.texts
                                .outerjoin(v, (v.c.text_hash == t.texts.c.text_hash) & (v.c.model_id == self.model_id))
                                .outerjoin(c, (c.c.text_hash == t.texts.c.text_hash) & (c.c.model_id == self.model_id)))
                   .where(v.c.text_hash.is_(None) & c.c.text_hash.is_(None))
                   .order_by(t.texts.c.id))
        with self.store.transaction() as conn:
            # one worker at a time: concurrent INSERT ... SELECT of overlapping keys would wait on each other
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:m))"), {"m": "embed:" + self.model_id})
            w = t.embed_workers  # every sync that embeds is a worker of its own: forget those gone a week
            conn.execute(delete(w).where(w.c.seen_at < func.now() - dt.timedelta(days=WORKERS_KEPT_DAYS)))
            return conn.execute(pg_insert(c).from_select(["model_id", "text_hash", "attempts"], missing)
                                .on_conflict_do_nothing()).rowcount

    def _release(self, conn: Connection, hashes: Sequence[str]) -> None:
        c = t.embed_claims
        for i in range(0, len(hashes), 1000):
            conn.execute(delete(c).where((c.c.model_id == self.model_id) & c.c.text_hash.in_(hashes[i:i + 1000])))

    # ---- SQLite: the single-process path -------------------------------------------------------
    def _next_missing(self, n: int) -> list[tuple[str, str]]:
        v = t.vectors
        q = (select(t.texts.c.id, t.texts.c.text_hash, t.texts.c.text)
             .outerjoin(v, (v.c.text_hash == t.texts.c.text_hash) & (v.c.model_id == self.model_id))
             .where(v.c.text_hash.is_(None) & (t.texts.c.id > self._after))
             .order_by(t.texts.c.id).limit(n))
        with self.store.engine.connect() as conn:
            rows = conn.execute(q).all()
        if rows:
            self._after = int(rows[-1].id)
        return [(r.text_hash, r.text) for r in rows]
