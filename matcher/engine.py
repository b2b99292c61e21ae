"""The matcher: keeps the indexes in step with the store and runs the pipeline over them.

A query reads the current :class:`~matcher.retrieval.snapshot.Snapshot` and runs the stages
of :class:`~matcher.ranking.pipeline.Pipeline` on it without any lock, so queries run
concurrently; a sync (when the database moved) builds the next snapshot and swaps it in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from matcher.domain import Query, Suggestion
from matcher.errors import InvalidInput
from matcher.ranking.pipeline import Pipeline
from matcher.ranking.rank import Ranker
from matcher.retrieval.catalogue import Catalogue
from matcher.retrieval.embed import Encoder
from matcher.retrieval.retrieve import RankingConfig
from matcher.retrieval.snapshot import Snapshot
from matcher.retrieval.upkeep import IndexUpkeep, ProgressFn
from matcher.storage.claims import DEFAULT_LEASE
from matcher.storage.store import Store
from matcher.text import clean_query

__all__ = ["MAX_K", "Matcher", "Query", "RankingConfig"]

MAX_K = 500
QUERY_CACHE = 2048  # recent query vectors kept per process


class Matcher:
    """Retrieval and ranking over a store. Stateful: holds the encoder, the index snapshots and the pipeline.

    Args:
        store: the system of record.
        encoder: embeds texts (documents and queries).
        index_dir: where the vector and lexical indexes are saved between starts (None: memory only).
        index_kind: ``auto``, ``flat``, ``ivf`` or ``hnsw``.
        config: the unlearned ranking settings; ranker: the learned ranker, when one is used.
        embed_lease: seconds a batch of texts claimed for embedding stays with this process unless renewed
            (PostgreSQL; other hosts take it again after that when this one dies).
        sync_wait: seconds a query waits for a catch-up before it is answered from the previous snapshot
            (None: until the catch-up ends; :meth:`IndexUpkeep.current`).
    """

    def __init__(self, store: Store, encoder: Encoder, index_dir: Path | None = None, index_kind: str = "auto",
                 config: RankingConfig | None = None, ranker: Ranker | None = None,
                 embed_lease: float = DEFAULT_LEASE, sync_wait: float | None = None) -> None:
        self.store = store
        self.encoder = encoder
        self.upkeep = IndexUpkeep(store, encoder, index_dir, index_kind, embed_lease, sync_wait)
        self.pipeline = Pipeline(config or RankingConfig(), ranker)  # replaced whole, never changed in place
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()  # query text -> vector, newest last
        self._qlock = threading.Lock()
        self._warm: Future[None] | None = None

    @property
    def index_dir(self) -> Path | None:
        return self.upkeep.index_dir

    @property
    def snapshot_(self) -> Snapshot | None:
        """The newest snapshot of the indexes (None before the first sync)."""
        return self.upkeep.snapshot_

    @property
    def catalogue_(self) -> Catalogue | None:
        """The newest snapshot's catalogue (kinds, countries, SME flags by position)."""
        return self.upkeep.snapshot_.catalogue if self.upkeep.snapshot_ else None

    def sync(self, progress: ProgressFn | None = None) -> bool:
        """Embed missing texts, then load, catch up or rebuild the indexes. True if anything changed."""
        return self.upkeep.sync(progress)

    def embed_missing(self, progress: ProgressFn | None = None) -> int:
        """Embed every stored text that has no vector for the current model; returns how many."""
        return self.upkeep.embed_missing(progress)

    def warm_up(self, wait: bool = True) -> None:
        """Pay the encoder's one-off set-up (model files read on first use, about a second for USE)
        before the first query, in a background thread started once; ``wait`` for it to end (and
        raise what it raised). ``matcher serve`` starts it early, so it overlaps the rest of the start.
        The same thread then starts reading a deferred ranker (:meth:`Ranker.prefetch`): that is
        not waited for, and it no longer competes with the start for the two cores."""
        with self._qlock:
            if self._warm is None:
                self._warm = Future()
                threading.Thread(target=self._warm_up, args=(self._warm,), name="warm-up", daemon=True).start()
        if wait:
            self._warm.result()

    def _warm_up(self, done: Future[None]) -> None:
        try:
            self.encoder.encode_queries(["warm up"])
            done.set_result(None)
        except BaseException as exc:  # raised again where the start waits for it
            done.set_exception(exc)
            return
        if self.pipeline.ranker is not None:
            self.pipeline.ranker.prefetch()

    def search(self, query: Query) -> list[Suggestion]:
        """Ranked organisations for one query (see :meth:`search_batch`)."""
        return self.search_batch([query])[0]

    def search_batch(self, queries: Sequence[Query]) -> list[list[Suggestion]]:
        """Ranked organisations for each query; the batch embeds all query texts at once."""
        return self.search_with([(q, self.pipeline) for q in queries])

    def search_with(self, asked: Sequence[tuple[Query, Pipeline]]) -> list[list[Suggestion]]:
        """Like :meth:`search_batch`, each query with its own pipeline (a role's, for example)."""
        if not asked:
            return []
        for q, _p in asked:
            q.text = clean_query(q.text)
            q.context = clean_query(q.context) if q.context.strip() else ""
            if not 1 <= q.k <= MAX_K:
                raise InvalidInput(f"k: must be between 1 and {MAX_K}")
        texts = list(dict.fromkeys([q.text for q, _p in asked] + [q.context for q, _p in asked if q.context]))
        vecs = dict(zip(texts, self.query_vectors(texts)))
        snap = self.upkeep.current()
        return [p.run(snap, self.store, q, vecs[q.text], context_vec=vecs.get(q.context) if q.context else None)
                for q, p in asked]

    def rank_with_vector(self, query: Query, qvec: np.ndarray, explain: bool = True,
                         pipeline: Pipeline | None = None) -> list[Suggestion]:
        """Rank for a query whose vector is already known (the evaluation caches them), on the newest
        snapshot, with this matcher's pipeline or another one (the evaluation's methods)."""
        snap = self.snapshot_ or self.upkeep.current()
        return (pipeline or self.pipeline).run(snap, self.store, query, qvec, explain)

    def query_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, from a small in-memory cache where the same text was asked recently
        (paging, re-running a what-if, the page and the API asking alike); one batch for the rest."""
        with self._qlock:
            known = {t: self._qcache[t] for t in dict.fromkeys(texts) if t in self._qcache}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:  # encoded outside the lock: other threads' cache hits need not wait
            known.update(zip(todo, self.encoder.encode_queries(todo)))
        with self._qlock:
            for t in dict.fromkeys(texts):
                self._qcache[t] = known[t]
                self._qcache.move_to_end(t)
            while len(self._qcache) > QUERY_CACHE:
                self._qcache.popitem(last=False)
        return np.vstack([known[t] for t in texts])
