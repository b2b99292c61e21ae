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
    """
    cat, lex = snap.catalogue, snap.lexical
    org_ok = cat.allowed_orgs(query.filters, query.visible)
    doc_ok = cat.docs_of(org_ok)
    n_ok = int(doc_ok.sum())
    lex_all = lex.scores(query.text)
    lex_ctx = lex.scores(query.context) if query.context and context_vec is not None else None
    depth = config.depth
    while True:
        docs = _doc_scores(snap, qvec, lex_all, doc_ok, n_ok, depth, config)
        if lex_ctx is not None and context_vec is not None:
            ctx = _doc_scores(snap, context_vec, lex_ctx, doc_ok, n_ok, depth, config)
            both = _mix(np.where(np.isfinite(docs.fused), docs.fused, 0.0),
                        np.where(np.isfinite(ctx.fused), ctx.fused, 0.0), config)
            hit = np.isfinite(docs.fused) | np.isfinite(ctx.fused)
            docs = DocScores(np.where(hit, both, -np.inf), docs.dense, docs.lexical, ctx.dense)
        org_scores, hits = fuse.aggregate(docs.fused, cat.link_doc, cat.link_org, cat.n_orgs,
                                          config.top_evidence, config.decay)
        org_scores[~org_ok] = -np.inf
        if int(np.isfinite(org_scores).sum()) >= query.k or depth >= n_ok:
            break
        depth *= 4
    room = max(config.candidates, query.k) + len(query.verdicts) + len(query.demote)
    return Ranking(query, docs, org_scores, hits, fuse.top_k(org_scores, room))


def _doc_scores(snap: Snapshot, qvec: np.ndarray, lex_all: np.ndarray, doc_ok: np.ndarray, n_ok: int,
                depth: int, config: RankingConfig) -> DocScores:
    """Fused, dense and lexical score per document; ``-inf`` where a document was not retrieved."""
    cat = snap.catalogue
    n = len(cat.doc_ids)
    allowed = None if n_ok == n else cat.doc_ids[doc_ok]
    scores, ids = snap.vectors.search(qvec, min(depth, max(n_ok, 1)), allowed)
    dense = np.full(n, -np.inf)
    ok = ids[0] >= 0
    dense[np.searchsorted(cat.doc_ids, ids[0][ok])] = scores[0][ok]
    lexical = np.where(doc_ok & (lex_all > 0), lex_all, -np.inf)
    lex_top = fuse.top_k(lexical, depth)
    lexical_cut = np.full(n, -np.inf)
    lexical_cut[lex_top] = lexical[lex_top]
    fused = fuse.fuse_scores(dense, lexical_cut, config.fusion, config.dense_weight, config.lexical_weight,
                             config.shift)
    return DocScores(fused, dense, lexical_cut)


def _mix(need: np.ndarray, context: np.ndarray, config: RankingConfig) -> np.ndarray:
    """A document's score for a need within a question: the sum, or the harmonic mean (both must be met)."""
    if config.context_mix == "both":
        need, context = np.maximum(need, 0.0), np.maximum(config.context_weight * context, 0.0)
        return 2 * need * context / np.maximum(need + context, 1e-9)
    return need + config.context_weight * context
