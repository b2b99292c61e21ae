"""The matcher: keeps the derived indexes in step with the store and answers queries.

``text -> embed -> dense (faiss) + lexical (BM25) -> fuse (RRF) -> aggregate per
organisation -> filter -> explain``. Filters are applied to the documents before
retrieval and to the organisations before the cut-off, and the candidate depth
grows until ``k`` organisations are found or the catalogue is exhausted.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from matcher.domain import Filters, Organisation, Suggestion
from matcher.errors import IndexMismatch, InvalidInput
from matcher.ranking import features
from matcher.ranking.explain import explain_many, reasons
from matcher.ranking.rank import Ranker
from matcher.retrieval import fuse
from matcher.retrieval.catalogue import Catalogue
from matcher.retrieval.embed import Encoder, Progress
from matcher.retrieval.graph import CollaborationGraph, Ties
from matcher.retrieval.index import VectorIndex, choose_kind
from matcher.retrieval.lexical import LexicalIndex
from matcher.storage.store import Store
from matcher.text import clean_query

log = logging.getLogger(__name__)
MAX_K = 500
QUERY_CACHE = 2048  # recent query vectors kept per process


@dataclass
class RankingConfig:
    """How retrieval scores are combined. Chosen by ``matcher eval`` on the development split."""

    fusion: str = "zsum"  # rrf | dense | bm25 | zsum (chosen on the development split, docs/EVALUATION.md)
    depth: int = 1000  # documents taken from each retriever before fusion (grows if needed)
    top_evidence: int = 3  # evidence pieces summed per organisation
    decay: float = 1.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    shift: float = 0.0  # zsum: fused z-scores below this do not count as evidence
    rerank: bool = True  # use the learned ranker when one is loaded (Matcher.ranker_)
    candidates: int = 200  # organisations the ranker re-orders


@dataclass
class Query:
    """One retrieval request."""

    text: str
    k: int = 10
    filters: Filters = field(default_factory=Filters)
    visible: tuple[str, ...] | None = None  # organisation visibility levels the caller may see
    seed: int | None = None  # the organisation asking ("who else?"): its ties become features
    verdicts: dict[int, str] = field(default_factory=dict)  # users' feedback on this query, by organisation id
    demote: list[int] = field(default_factory=list)  # look-alikes (competitors) shown only after the rest


class Matcher:
    """Retrieval over a store. Stateful: holds the encoder, the vector and lexical indexes."""

    def __init__(self, store: Store, encoder: Encoder, index_dir: Path | None = None,
                 index_kind: str = "auto", config: RankingConfig | None = None) -> None:
        self.store = store
        self.encoder = encoder
        self.index_dir = Path(index_dir) if index_dir else None
        self.index_kind = index_kind
        self.config = config or RankingConfig()
        self.change_no_ = -1
        self.index_: VectorIndex | None = None
        self.lexical_: LexicalIndex | None = None
        self.catalogue_: Catalogue | None = None
        self.graph_: CollaborationGraph | None = None
        self.ranker_: Ranker | None = None  # set by the caller (service or evaluation) when one is used
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()  # query text -> vector, newest last
        self._qlock = threading.Lock()
        self._lock = threading.RLock()  # one query or sync at a time: they swap whole indexes

    # ---- keeping in step with the store ------------------------------------------------
    def sync(self, progress: Callable[[str, int, Progress | None], None] | None = None) -> bool:
        """Embed missing texts, then load, catch up or rebuild the indexes. True if anything changed."""
        with self._lock:
            return self._sync(progress)

    def _sync(self, progress: Callable[[str, int, Progress | None], None] | None = None) -> bool:
        current = self.store.change_no()
        if current == self.change_no_ and self.index_ is not None:
            return False
        self.embed_missing(progress)
        changes = self.store.changes_since(max(self.change_no_, 0)) if self.index_ is not None else None
        dirty = bool(changes)
        if self.index_ is None:
            self.index_, dirty = self._load_or_rebuild(current)
        elif changes:
            self._catch_up(changes)
        texts_changed = self.lexical_ is None or any(c[1] == "text" for c in (changes or []))
        if texts_changed:
            texts = self.store.texts()
            ids = np.asarray(sorted(texts), dtype=np.int64)
            self.lexical_ = LexicalIndex().fit(ids, [texts[i][1] for i in ids])
            dirty = True
        assert self.lexical_ is not None
        self.catalogue_ = Catalogue.from_store(self.store, self.lexical_.ids_)
        self.graph_ = CollaborationGraph.from_store(self.store, self.catalogue_.org_ids)
        self.change_no_ = current
        if self.index_dir is not None and dirty:
            self._save(current)
        return True

    def embed_missing(self, progress: Callable[[str, int, Progress | None], None] | None = None) -> int:
        """Embed every stored text that has no vector for the current model; returns how many."""
        todo = self.store.texts_without_vectors(self.encoder.model_id)
        if not todo:
            return 0
        batch = 256
        step = None
        if progress:
            step = progress(f"embedding with {self.encoder.model_id}", len(todo), None) or None
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            vecs = self.encoder.encode_documents([x for _h, x in chunk])
            self.store.put_vectors(self.encoder.model_id, [h for h, _x in chunk], vecs)
            if step:
                step(len(chunk))
        return len(todo)

    def _expect(self) -> dict[str, object]:
        return {"model_id": self.encoder.model_id, "dim": self.encoder.dim, "db_uuid": self.store.db_uuid}

    def _load_or_rebuild(self, current: int) -> tuple[VectorIndex, bool]:
        """The saved index caught up to ``current`` (and its lexical index when no text changed
        since it was saved), or a rebuilt one; and whether anything differs from the saved folder."""
        if self.index_dir is not None and self.index_dir.exists():
            try:
                index, manifest = VectorIndex.load(self.index_dir, self._expect())
                behind = int(manifest["change_no"])
                if behind > current:
                    raise IndexMismatch(f"index is at change {behind}, the database at {current}")
                self.index_ = index
                changes = self.store.changes_since(behind)
                self._catch_up(changes)
                if not any(c[1] == "text" for c in changes):
                    self.lexical_ = LexicalIndex.load(self.index_dir / "lexical")
                return index, bool(changes)
            except IndexMismatch as exc:
                log.warning("rebuilding the vector index: %s", exc)
        return self._rebuild(), True

    def _rebuild(self) -> VectorIndex:
        ids, vecs = self.store.text_vectors(self.encoder.model_id)
        index = VectorIndex(self.encoder.dim, choose_kind(self.index_kind, len(ids)))
        index.add(ids, vecs.reshape(-1, self.encoder.dim))
        return index

    def _catch_up(self, changes: Sequence[tuple[int, str, int, str]]) -> None:
        assert self.index_ is not None
        final: dict[int, str] = {}
        for _cid, entity, entity_id, op in changes:
            if entity == "text":
                final[entity_id] = op
        gone = [i for i, op in final.items() if op == "delete"]
        self.index_.remove(gone)
        ids, vecs = self.store.text_vectors(self.encoder.model_id, [i for i, op in final.items() if op != "delete"])
        self.index_.add(ids, vecs.reshape(-1, self.encoder.dim))

    def _save(self, current: int) -> None:
        assert self.index_ is not None and self.index_dir is not None
        try:
            lexical = self.lexical_
            self.index_.save(self.index_dir, {**self._expect(), "change_no": current},
                             extra=(lambda tmp: lexical.save(tmp / "lexical")) if lexical is not None else None)
        except OSError as exc:
            # Several workers share the folder and may swap it in at the same moment; the loser's copy
            # is simply not saved. The saved index is a cache: the next start catches up or rebuilds.
            log.warning("vector index not saved: %s", exc)

    # ---- queries ------------------------------------------------------------------------
    def search(self, query: Query) -> list[Suggestion]:
        """Ranked organisations for one query (see :meth:`search_batch`)."""
        return self.search_batch([query])[0]

    def search_batch(self, queries: Sequence[Query]) -> list[list[Suggestion]]:
        """Ranked organisations for each query; the batch embeds all query texts at once."""
        for q in queries:
            q.text = clean_query(q.text)
            if not 1 <= q.k <= MAX_K:
                raise InvalidInput(f"k: must be between 1 and {MAX_K}")
        qvecs = self.query_vectors([q.text for q in queries])
        with self._lock:
            self.sync()
            return [self.rank_with_vector(q, qv) for q, qv in zip(queries, qvecs)]

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

    def rank_with_vector(self, query: Query, qvec: np.ndarray, explain: bool = True) -> list[Suggestion]:
        """Rank for a query whose vector is already known (the evaluation caches them).

        Without ``explain`` the suggestions carry no explanation and no organisation
        record beyond its id, which is all a ranking metric needs.
        """
        cat = self.catalogue_
        assert cat is not None
        fused, dense, lexical, org_scores, counts = self.retrieve(query, qvec)
        liked, unwanted = self._verdict_positions(query, org_scores)
        ranked = self._rerank(query, fused, dense, lexical, org_scores, extra=liked)
        top = ranked[0] if ranked is not None else _top_k(org_scores, query.k + len(unwanted))
        if len(liked) or len(unwanted):  # feedback on this query: judged relevant up, not relevant down
            top = fuse.apply_verdicts(top, liked, unwanted)
            if ranked is not None:  # the same permutation for scores and feature rows (liked are candidates)
                rows = _positions_in(ranked[0], top)
                ranked = (top, ranked[1][rows], ranked[2][rows])
        top = top[:query.k]
        if not explain:
            return [Suggestion(Organisation(name="", id=int(cat.org_ids[p])), r, float(org_scores[p]), {}, {})
                    for r, p in enumerate(top, 1)]
        orgs = self.store.get_organisations(cat.org_ids[top].tolist())
        wanted, comps = [], []
        for pos in top:
            docs = cat.org_docs(int(pos))
            best_docs = docs[np.argsort(-fused[docs], kind="stable")][:2]
            best_docs = best_docs[np.isfinite(fused[best_docs])]
            wanted.append((int(cat.org_ids[pos]), cat.doc_ids[best_docs].tolist(), fused[best_docs].tolist()))
            comps.append({"fused": float(org_scores[pos]), "dense": _best(dense, docs),
                          "lexical": _best(lexical, docs), "evidence_hits": float(counts[pos])})
        expls = explain_many(self.store, query.text, wanted)
        for (org_id, _t, _s), e in zip(wanted, expls):
            if org_id in query.verdicts:
                e["feedback"] = query.verdicts[org_id]
            if org_id in query.demote:
                e["flags"] = ["offers much the same as the organisation asking: a possible competitor"]
        if ranked is not None:
            self._add_reasons(query, ranked, comps, expls)
        score_key = "ranker" if ranked is not None else "fused"
        out = [Suggestion(orgs[w[0]], rank, c[score_key], c, e)
               for rank, (w, c, e) in enumerate(zip(wanted, comps, expls), 1)]
        return out

    def retrieve(self, query: Query, qvec: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The unlearned stages: per-document (fused, dense, lexical) scores, then per organisation
        the aggregated score (``-inf`` when filtered out or not retrieved) and retrieved evidence count."""
        cat, lex = self.catalogue_, self.lexical_
        assert cat is not None and lex is not None and self.index_ is not None
        org_ok = cat.allowed_orgs(query.filters, query.visible)
        doc_ok = cat.docs_of(org_ok)
        n_ok = int(doc_ok.sum())
        lex_all = lex.scores(query.text)
        depth = self.config.depth
        while True:
            fused, dense, lexical = self._doc_scores(qvec, lex_all, doc_ok, n_ok, depth)
            org_scores, counts = fuse.aggregate(fused, cat.link_doc, cat.link_org, cat.n_orgs,
                                                self.config.top_evidence, self.config.decay)
            org_scores[~org_ok] = -np.inf
            found = int(np.isfinite(org_scores).sum())
            if found >= query.k or depth >= n_ok:
                return fused, dense, lexical, org_scores, counts
            depth *= 4

    def _rerank(self, query: Query, fused: np.ndarray, dense: np.ndarray, lexical: np.ndarray,
                org_scores: np.ndarray, extra: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(positions, ranker scores, feature rows) best first, or None when no ranker is in use."""
        if self.ranker_ is None or not self.config.rerank:
            return None
        if ("seeded" if query.seed is not None else "cold") not in self.ranker_.tasks_:
            return None
        cat = self.catalogue_
        assert cat is not None
        cands, x = self.candidate_rows(query, fused, dense, lexical, org_scores, extra)
        if len(cands) == 0:
            return cands, np.zeros(0), x
        scores = self.ranker_.score(x)
        order = np.lexsort((-_finite_or(org_scores[cands]), -scores))
        return cands[order], scores[order], x[order]

    def _verdict_positions(self, query: Query, org_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Catalogue positions judged relevant (only those still allowed) and those to show last:
        judged not relevant, or look-alikes of the organisation asking."""
        cat = self.catalogue_
        assert cat is not None
        liked = cat.org_index([int(i) for i, v in query.verdicts.items() if v != "not_relevant"])
        unwanted = cat.org_index([int(i) for i, v in query.verdicts.items() if v == "not_relevant"] + query.demote)
        return liked[np.isfinite(org_scores[liked])], unwanted

    def _add_reasons(self, query: Query, ranked: tuple[np.ndarray, np.ndarray, np.ndarray],
                     comps: list[dict[str, float]], expls: list[dict[str, Any]]) -> None:
        """The learned score in the components, and the features that weighed most, in words."""
        assert self.ranker_ is not None and self.catalogue_ is not None
        n = len(comps)
        rows = ranked[2][:n]
        contrib = self.ranker_.contributions(rows, np.median(ranked[2], axis=0))
        seed_name = ""
        if query.seed is not None:
            seed_name = self.store.get_organisations([query.seed]).get(query.seed, Organisation("")).name
        latest = self.catalogue_.latest
        ref_year = dt.date.fromordinal(int(latest.max())).year if latest is not None and latest.max() > 0 else 0
        for c, e, score, row, con in zip(comps, expls, ranked[1][:n], rows, contrib):
            c["ranker"] = float(score)
            e["reasons"] = reasons(features.FEATURES, row.tolist(), con.tolist(), seed_name, ref_year)

    def candidate_rows(self, query: Query, fused: np.ndarray, dense: np.ndarray, lexical: np.ndarray,
                       org_scores: np.ndarray, extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ranker's candidates (plus ``extra`` positions) and their feature rows: the one place that
        builds them, for ranking here and for training in :mod:`matcher.evaluation.train`."""
        cat = self.catalogue_
        assert cat is not None
        cands, ties, seed = self.candidates(query, org_scores)
        if extra is not None and len(extra):
            cands = np.union1d(cands, extra)
        if len(cands) == 0:
            return cands, np.zeros((0, len(features.FEATURES)))
        docs = features.DocScores(fused, dense, lexical)
        return cands, features.candidate_matrix(cat, docs, org_scores, cands, ties, seed)

    def candidates(self, query: Query, org_scores: np.ndarray) -> tuple[np.ndarray, Ties | None, int | None]:
        """Candidate positions for the ranker: the best by fused score, plus the seed's allowed partners."""
        cat = self.catalogue_
        assert cat is not None
        cands = _top_k(org_scores, max(self.config.candidates, query.k))
        seed = ties = None
        if query.seed is not None and self.graph_ is not None:
            pos = cat.org_index([query.seed])
            if len(pos):
                seed = int(pos[0])
                ties = self.graph_.ties(seed)
                partners = np.flatnonzero((ties.shared > 0) & np.isfinite(org_scores))
                cands = np.union1d(cands, partners)
        return cands, ties, seed

    def _doc_scores(self, qvec: np.ndarray, lex_all: np.ndarray, doc_ok: np.ndarray, n_ok: int,
                    depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fused, dense, lexical) per document; ``-inf`` where a document was not retrieved."""
        cat = self.catalogue_
        assert cat is not None and self.index_ is not None
        n = len(cat.doc_ids)
        allowed = None if n_ok == n else cat.doc_ids[doc_ok]
        scores, ids = self.index_.search(qvec, min(depth, max(n_ok, 1)), allowed)
        dense = np.full(n, -np.inf)
        ok = ids[0] >= 0
        pos = np.searchsorted(cat.doc_ids, ids[0][ok])
        dense[pos] = scores[0][ok]
        lexical = np.where(doc_ok & (lex_all > 0), lex_all, -np.inf)
        lex_top = _top_k(lexical, depth)
        lexical_cut = np.full(n, -np.inf)
        lexical_cut[lex_top] = lexical[lex_top]
        return self._fuse(dense, lexical_cut), dense, lexical_cut

    def _fuse(self, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        c = self.config
        if c.fusion == "dense":
            return dense
        if c.fusion == "bm25":
            return lexical
        hit = np.isfinite(dense) | np.isfinite(lexical)
        if c.fusion == "rrf":
            rd = np.where(np.isfinite(dense), fuse.ranks_of(dense), np.inf)
            rl = np.where(np.isfinite(lexical), fuse.ranks_of(lexical), np.inf)
            out = fuse.rrf([rd, rl], weights=[c.dense_weight, c.lexical_weight])
        elif c.fusion == "zsum":
            # standardised scores over what each retriever returned; a document one retriever missed
            # counts as that retriever's worst. Only the part above the mean counts as evidence, so an
            # organisation gains from several strong pieces, not from many mediocre ones.
            d = fuse.standardise(dense, np.isfinite(dense))
            lx = fuse.standardise(lexical, np.isfinite(lexical))
            d = np.where(np.isfinite(dense), d, d[np.isfinite(dense)].min(initial=0.0))
            lx = np.where(np.isfinite(lexical), lx, lx[np.isfinite(lexical)].min(initial=0.0))
            z = c.dense_weight * d + c.lexical_weight * lx - c.shift
            # below-mean documents keep a tiny, order-preserving weight so that a filtered query can
            # still fill k places from them when nothing better exists
            out = np.maximum(z, 0.0) + 1e-3 * np.exp(np.minimum(z, 0.0))
        else:
            raise InvalidInput(f"unknown fusion {c.fusion!r}")
        return np.where(hit, out, -np.inf)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest finite scores, best first (ties by index)."""
    finite = np.flatnonzero(np.isfinite(scores))
    if len(finite) > k:
        part = np.argpartition(-scores[finite], k - 1)[:k]
        finite = finite[part]
    return finite[np.lexsort((finite, -scores[finite]))]


def _positions_in(order: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Indices into ``order`` of each of ``items`` (all of which are in ``order``)."""
    sorter = np.argsort(order)
    return sorter[np.searchsorted(order, items, sorter=sorter)]


def _finite_or(x: np.ndarray, floor: float = -1e9) -> np.ndarray:
    return np.where(np.isfinite(x), x, floor)


def _best(scores: np.ndarray, docs: np.ndarray) -> float:
    vals = scores[docs]
    vals = vals[np.isfinite(vals)]
    return float(vals.max()) if vals.size else 0.0
