"""Keeping the derived indexes in step with the store: embed, load, catch up, rebuild, save.

The database is the system of record; the vector index, the lexical index, the catalogue
arrays and the collaboration graph are caches derived from it at one change number. Each
sync produces a new :class:`~matcher.retrieval.snapshot.Snapshot`; the one in use is never
changed in place (a catch-up works on a copy of the vector index).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.errors import IndexMismatch
from matcher.retrieval.bulk import embed_pending
from matcher.retrieval.catalogue import Catalogue
from matcher.retrieval.embed import Encoder, Progress
from matcher.retrieval.graph import CollaborationGraph
from matcher.retrieval.index import VectorIndex, choose_kind
from matcher.retrieval.lexical import LexicalIndex
from matcher.retrieval.snapshot import Snapshot
from matcher.storage.claims import DEFAULT_LEASE, EmbedClaims
from matcher.storage.store import Store

log = logging.getLogger(__name__)
EMBED_BATCH = 256
ProgressFn = Callable[[str, int, Progress | None], None]
Change = tuple[int, str, int, str]  # (change number, entity, entity id, op)


@dataclass
class _CatchUp:
    """A catch-up started for queries: set when it ends, with the error it ended with, if any."""

    done: threading.Event
    failed: list[BaseException]


class IndexUpkeep:
    """Builds snapshots of the indexes from a store and an encoder, saving them to ``index_dir``.

    Stateful: ``snapshot_`` is the newest snapshot (None before the first sync).
    """

    def __init__(self, store: Store, encoder: Encoder, index_dir: Path | None = None,
                 index_kind: str = "auto", embed_lease: float = DEFAULT_LEASE, sync_wait: float | None = None
                 ) -> None:
        self.store = store
        self.embed_lease = embed_lease  # seconds another host waits for the batch of a host that died
        self.encoder = encoder
        self.index_dir = Path(index_dir) if index_dir else None
        self.index_kind = index_kind
        self.snapshot_: Snapshot | None = None
        self._lock = threading.Lock()  # one sync at a time; queries never take it
        # seconds a query waits for a catch-up before it is answered from the previous snapshot (None: until
        # the catch-up ends); a catch-up after text changes takes minutes at a million organisations
        self.sync_wait = sync_wait
        self._catching_up: _CatchUp | None = None  # the catch-up thread started for queries, while it runs
        self._catching_up_lock = threading.Lock()

    def current(self) -> Snapshot:
        """The snapshot at the store's current change number (synced first when the store moved).

        With ``sync_wait`` set and a snapshot in hand, the catch-up runs in its own thread and the query
        waits at most that long for it: a write is then found by the queries that follow it as long as
        catch-ups end within ``sync_wait``, and a long one leaves queries answered from the snapshot before
        it instead of waiting for it. Queries meanwhile join the catch-up under way rather than each
        starting one (if it began before their change number, they wait for one more within their time).
        A failed catch-up fails the queries waiting for it.
        """
        snap, now = self.snapshot_, self.store.change_no()
        if snap is not None and snap.change_no == now:
            return snap
        if snap is None or self.sync_wait is None:
            self.sync()
        else:
            deadline = time.monotonic() + self.sync_wait
            for _ in range(2):  # the catch-up under way, then (if that one began before `now`) one of our own
                job, ours = self._catch_up()
                if not job.done.wait(max(0.0, deadline - time.monotonic())):
                    break
                if job.failed:
                    raise job.failed[0]
                if ours or self.snapshot_.change_no >= now:  # type: ignore[union-attr]
                    break
        assert self.snapshot_ is not None
        return self.snapshot_

    def _catch_up(self) -> tuple[_CatchUp, bool]:
        """The catch-up thread that queries wait for: the running one, else a new one (then True). One at a
        time, so queries arriving during a catch-up of minutes do not each start a thread that waits for the
        sync lock."""
        with self._catching_up_lock:
            job = self._catching_up
            if job is not None and not job.done.is_set():
                return job, False
            job = self._catching_up = _CatchUp(threading.Event(), [])

        def run() -> None:
            try:
                self.sync()
            except BaseException as exc:  # handed to the queries still waiting; logged either way
                job.failed.append(exc)
                log.warning("catch-up failed: %s", exc)
            finally:
                job.done.set()

        threading.Thread(target=run, name="matcher-catch-up", daemon=True).start()
        return job, True

    def sync(self, progress: ProgressFn | None = None) -> bool:
        """Embed missing texts, then load, catch up or rebuild the indexes. True if anything changed."""
        with self._lock:
            current, db_uuid = self.store.change_no(), self.store.db_uuid
            old = self.snapshot_
            if old is not None and (current < old.change_no or old.db_uuid != db_uuid):
                old = None  # a restored database: its changes are not the history the snapshot followed
            if old is not None and old.change_no == current:
                return False
            changes: Sequence[Change] = () if old is None else self.store.changes_since(max(old.change_no, 0))
            if old is None or self._lacking_vectors(changes):  # a catch-up looks only at the texts that changed
                self.embed_missing(progress)
            if old is None:
                vectors, lexical, dirty = self._load_or_rebuild(current)
            else:
                vectors, lexical, dirty = self._caught_up(old, changes)
            if lexical is None or _texts_changed(changes):
                lexical, dirty = self._fit_lexical(), True
            saved = self._saved_tables(lexical) if old is None and not dirty else None
            if saved is None:  # built from the store; a saved folder lacking them gets them now
                saved = self._store_tables(lexical)
                dirty = dirty or old is None
            catalogue, graph = saved
            self.snapshot_ = Snapshot(current, vectors, lexical, catalogue, graph, db_uuid)
            if self.index_dir is not None and dirty:
                self._save(self.snapshot_)
            return True

    def embed_missing(self, progress: ProgressFn | None = None) -> int:
        """Embed every stored text that has no vector for the current model; returns how many this process
        embedded. On PostgreSQL the hosts share the work (:mod:`matcher.retrieval.bulk`) and this waits
        until every text has a vector, as the index is then caught up from the stored vectors."""
        todo = EmbedClaims(self.store, self.encoder.model_id).progress().remaining
        if not todo:
            return 0
        step = progress(f"embedding with {self.encoder.model_id}", todo, None) or None if progress else None
        return embed_pending(self.store, self.encoder, batch=EMBED_BATCH, lease=self.embed_lease,
                             on_batch=step).embedded

    def _lacking_vectors(self, changes: Sequence[Change]) -> bool:
        """Whether a text added or changed in ``changes`` has no vector for the model yet (counting every
        text instead costs a scan of the texts table per sync: about a second at a million organisations)."""
        ids = {i for _c, entity, i, op in changes if entity == "text" and op != "delete"}
        return bool(ids) and self.store.count_without_vectors(self.encoder.model_id, ids) > 0

    def expected_manifest(self) -> dict[str, object]:
        """What a saved index folder must say to be reused with this store and encoder."""
        return {"model_id": self.encoder.model_id, "dim": self.encoder.dim, "db_uuid": self.store.db_uuid}

    def _caught_up(self, old: Snapshot, changes: Sequence[Change]
                   ) -> tuple[VectorIndex, LexicalIndex | None, bool]:
        """The old snapshot's indexes with ``changes`` applied, on a copy of the vector index."""
        if not any(entity == "text" for _c, entity, _i, _op in changes):
            return old.vectors, old.lexical, bool(changes)
        vectors = old.vectors.copy()
        self._apply(vectors, changes)
        return vectors, None, True

    def _load_or_rebuild(self, current: int) -> tuple[VectorIndex, LexicalIndex | None, bool]:
        """The saved index caught up to ``current`` (and its lexical index when no text changed since
        it was saved), or a rebuilt one; and whether anything differs from the saved folder."""
        if self.index_dir is not None and self.index_dir.exists():
            try:
                vectors, manifest = VectorIndex.load(self.index_dir, self.expected_manifest())
                behind = int(manifest["change_no"])
                if behind > current:
                    raise IndexMismatch(f"index is at change {behind}, the database at {current}")
                changes = self.store.changes_since(behind)
                self._apply(vectors, changes)
                lexical = None if _texts_changed(changes) else LexicalIndex.load(self.index_dir / "lexical")
                return vectors, lexical, bool(changes)
            except IndexMismatch as exc:
                log.warning("rebuilding the vector index: %s", exc)
        return self._rebuild(), None, True

    def _rebuild(self) -> VectorIndex:
        ids, vecs = self.store.text_vectors(self.encoder.model_id)
        index = VectorIndex(self.encoder.dim, choose_kind(self.index_kind, len(ids)))
        index.add(ids, vecs.reshape(-1, self.encoder.dim))
        return index

    def _apply(self, vectors: VectorIndex, changes: Sequence[Change]) -> None:
        """Apply text changes to ``vectors`` in place (a copy or a freshly loaded index, never in use)."""
        final: dict[int, str] = {}
        for _cid, entity, entity_id, op in changes:
            if entity == "text":
                final[entity_id] = op
        vectors.remove([i for i, op in final.items() if op == "delete"])
        ids, vecs = self.store.text_vectors(self.encoder.model_id, [i for i, op in final.items() if op != "delete"])
        vectors.add(ids, vecs.reshape(-1, self.encoder.dim))

    def _saved_tables(self, lexical: LexicalIndex) -> tuple[Catalogue, CollaborationGraph] | None:
        """The catalogue and graph saved with an index folder that is at the store's change number:
        the same organisations and links as the store holds, without reading them row by row."""
        if self.index_dir is None:
            return None
        catalogue = Catalogue.load(self.index_dir, lexical.ids_)
        graph = CollaborationGraph.load(self.index_dir, catalogue.n_orgs) if catalogue is not None else None
        return (catalogue, graph) if catalogue is not None and graph is not None else None

    def _store_tables(self, lexical: LexicalIndex) -> tuple[Catalogue, CollaborationGraph]:
        catalogue = Catalogue.from_store(self.store, lexical.ids_)
        return catalogue, CollaborationGraph.from_store(self.store, catalogue.org_ids)

    def _fit_lexical(self) -> LexicalIndex:
        texts = self.store.texts()
        ids = np.asarray(sorted(texts), dtype=np.int64)
        return LexicalIndex().fit(ids, [texts[i][1] for i in ids])

    def _save(self, snap: Snapshot) -> None:
        assert self.index_dir is not None
        try:
            snap.vectors.save(self.index_dir, {**self.expected_manifest(), "change_no": snap.change_no},
                              extra=lambda tmp: self._save_derived(snap, tmp))
        except OSError as exc:
            # Several workers share the folder and may swap it in at the same moment; the loser's copy
            # is simply not saved. The saved index is a cache: the next start catches up or rebuilds.
            log.warning("vector index not saved: %s", exc)


    @staticmethod
    def _save_derived(snap: Snapshot, tmp: Path) -> None:
        """What is saved beside the vectors, at the same change number: lexical index, catalogue, graph."""
        snap.lexical.save(tmp / "lexical")
        snap.catalogue.save(tmp)
        snap.graph.save(tmp)


def _texts_changed(changes: Sequence[Change]) -> bool:
    return any(entity == "text" for _c, entity, _i, _op in changes)
