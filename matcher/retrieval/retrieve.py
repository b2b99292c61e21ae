"""The unlearned stages: dense and lexical search, fusion, aggregation per organisation, filters.

``retrieve`` turns a query and its vector into a :class:`~matcher.retrieval.scores.Ranking`.
Filters are applied to the documents before the dense search and to the organisations before
the cut-off; the candidate depth grows until ``k`` organisations are found or the allowed
catalogue is exhausted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.domain import Query
from matcher.retrieval import fuse
from matcher.retrieval.scores import DocScores, Ranking
from matcher.retrieval.snapshot import Snapshot


@dataclass(frozen=True)
class RankingConfig:
    """How the pipeline ranks. Chosen by ``matcher eval`` on the development split (docs/EVALUATION.md)."""

    fusion: str = "zsum"  # one of fuse.FUSIONS
    depth: int = 1000  # documents taken from each retriever before fusion (grows if needed)
    top_evidence: int = 3  # evidence pieces summed per organisation
    decay: float = 1.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    lexical_terms: int = 64  # a long question's most telling terms BM25 reads (LexicalIndex.search_terms); 0: all
    shift: float = 0.0  # zsum: fused z-scores below this do not count as evidence
    rerank: bool = True  # use the learned ranker when the pipeline has one
    candidates: int = 200  # organisations the ranker re-orders
    context_weight: float = 0.5  # a role's whole question, next to its need (Query.context)
    context_mix: str = "sum"  # sum: need + weight * context; both: their harmonic mean (a document must meet both)
    seed_weight: float = 0.5  # ties to the one asking (matcher.ranking.ties); 0 leaves them out
    activity_weight: float = 0.0  # size prior inside a role (matcher.ranking.prior); 0 leaves it out
    seed_within: int = 50  # only the best this many by the text may move up for ties (0: any retrieved)


def retrieve(snap: Snapshot, query: Query, qvec: np.ndarray, config: RankingConfig,
             context_vec: np.ndarray | None = None) -> Ranking:
    """Per-document scores, per-organisation scores and a first order (by fused score) for ``query``.

    The order holds the best ``max(config.candidates, k)`` organisations plus room for those that
    feedback moves to the end, so every later stage can still fill ``k`` places. With a context
    (``query.context`` and its vector), each document's fused score adds the context's fused score
    times ``config.context_weight``; the dense and lexical parts stay those of ``query.text``.

    Fusion and aggregation see only the documents the two retrievers returned (their union), and
    the lexical scores come from the query terms' posting lists; a document neither returned is
    ``-inf`` in every per-document array, as when every document was scored (the fusions
    standardise and rank over the returned documents only, so they give the same numbers).
    """
    cat, lex = snap.catalogue, snap.lexical
    org_ok = cat.allowed_orgs(query.filters, query.visible)
    doc_ok = cat.allowed_docs(org_ok)
    n_ok = len(cat.doc_ids) if doc_ok is None else int(doc_ok.sum())
    lex_q = lex.matches(query.text, doc_ok, config.lexical_terms)
    lex_c = (lex.matches(query.context, doc_ok, config.lexical_terms)
             if query.context and context_vec is not None else None)
    depth = config.depth
    while True:
        docs = _doc_scores(snap, qvec, lex_q, doc_ok, n_ok, depth, config)
        if lex_c is not None and context_vec is not None:
            docs = _with_context(docs, _doc_scores(snap, context_vec, lex_c, doc_ok, n_ok, depth, config), config)
        which, orgs = cat.links_of(docs.pos)
        present, sums, counts = fuse.aggregate_links(docs.fused[which], orgs, config.top_evidence, config.decay)
        sums[~org_ok[present]] = -np.inf  # present: the organisations with a retrieved document, ascending
        if int(np.isfinite(sums).sum()) >= query.k or depth >= n_ok:
            break
        depth *= 4
    room = max(config.candidates, query.k) + len(query.verdicts) + len(query.demote)
    org_scores = np.full(cat.n_orgs, -np.inf)
    org_scores[present] = sums
    hits = np.zeros(cat.n_orgs, dtype=np.int64)
    hits[present] = counts
    return Ranking(query, docs.full(len(cat.doc_ids)), org_scores, hits, present[fuse.top_k(sums, room)])


@dataclass(frozen=True)
class _Returned:
    """Scores of the documents at ``pos`` (ascending positions): those the retrievers returned."""

    pos: np.ndarray
    fused: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    context_dense: np.ndarray | None = None

    def on(self, pos: np.ndarray) -> _Returned:
        """The same scores on ``pos``, a superset of ``self.pos`` (``-inf`` where not returned)."""
        at = np.searchsorted(pos, self.pos)
        spread = lambda x: _spread(len(pos), at, x)  # noqa: E731
        return _Returned(pos, spread(self.fused), spread(self.dense), spread(self.lexical),
                         None if self.context_dense is None else spread(self.context_dense))

    def full(self, n: int) -> DocScores:
        """Every document's scores, ``-inf`` where not returned: what the later stages read."""
        spread = lambda x: _spread(n, self.pos, x)  # noqa: E731
        return DocScores(spread(self.fused), spread(self.dense), spread(self.lexical),
                         None if self.context_dense is None else spread(self.context_dense))


def _spread(n: int, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(n, -np.inf)
    out[at] = values
    return out


def _doc_scores(snap: Snapshot, qvec: np.ndarray, lex_q: tuple[np.ndarray, np.ndarray], doc_ok: np.ndarray | None,
                n_ok: int, depth: int, config: RankingConfig) -> _Returned:
    """Fused, dense and lexical score of the documents either retriever returns at ``depth``."""
    cat = snap.catalogue
    allowed = None if doc_ok is None or n_ok == len(cat.doc_ids) else cat.doc_ids[doc_ok]
    scores, ids = snap.vectors.search(qvec, min(depth, max(n_ok, 1)), allowed)
    ok = ids[0] >= 0
    dense_pos, dense = np.searchsorted(cat.doc_ids, ids[0][ok]), scores[0][ok].astype(np.float64)
    lex_pos, lex_all = lex_q
    best = fuse.top_k(lex_all, depth)
    lex_pos, lexical = lex_pos[best], lex_all[best].astype(np.float64)
    pos = np.union1d(dense_pos, lex_pos)
    d = _spread(len(pos), np.searchsorted(pos, dense_pos), dense)
    lx = _spread(len(pos), np.searchsorted(pos, lex_pos), lexical)
    fused = fuse.fuse_scores(d, lx, config.fusion, config.dense_weight, config.lexical_weight, config.shift)
    return _Returned(pos, fused, d, lx)


def _with_context(docs: _Returned, ctx: _Returned, config: RankingConfig) -> _Returned:
    """The need's scores with the whole question's fused score mixed in (:func:`_mix`)."""
    pos = np.union1d(docs.pos, ctx.pos)
    docs, ctx = docs.on(pos), ctx.on(pos)
    both = _mix(np.where(np.isfinite(docs.fused), docs.fused, 0.0),
                np.where(np.isfinite(ctx.fused), ctx.fused, 0.0), config)
    hit = np.isfinite(docs.fused) | np.isfinite(ctx.fused)
    return _Returned(pos, np.where(hit, both, -np.inf), docs.dense, docs.lexical, ctx.dense)


def _mix(need: np.ndarray, context: np.ndarray, config: RankingConfig) -> np.ndarray:
    """A document's score for a need within a question: the sum, or the harmonic mean (both must be met)."""
    if config.context_mix == "both":
        need, context = np.maximum(need, 0.0), np.maximum(config.context_weight * context, 0.0)
        return 2 * need * context / np.maximum(need + context, 1e-9)
    return need + config.context_weight * context
