"""The learned stage: the ranker re-orders the best candidates by their feature rows.

:func:`candidate_rows` is the one place that builds the candidates and their rows, for ranking
here and for training in :mod:`matcher.evaluation.train`, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.ranking import features
from matcher.ranking.rank import Ranker
from matcher.retrieval import fuse
from matcher.retrieval.graph import Ties
from matcher.retrieval.scores import Ranking
from matcher.retrieval.snapshot import Snapshot


def applies(ranker: Ranker, r: Ranking) -> bool:
    """Whether ``ranker`` is used for this kind of question (seeded: an organisation asks; else cold)
    and can score (a model still being read in the background is waited for)."""
    return ("seeded" if r.query.seed is not None else "cold") in ranker.tasks_ and ranker.ready()


def rerank(r: Ranking, snap: Snapshot, ranker: Ranker, n_candidates: int) -> Ranking:
    """``r`` ordered by the learned score over its candidates (the liked ones always among them);
    ties keep the fused order."""
    cands, x = candidate_rows(r, snap, n_candidates, r.liked)
    if len(cands) == 0:
        return replace(r, order=cands, learned=np.zeros(0), rows=x, reference=np.zeros(x.shape[1]))
    scores = ranker.score(x)
    order = np.lexsort((-_finite_or(r.org_scores[cands]), -scores))
    return replace(r, order=cands[order], learned=scores[order], rows=x[order], reference=np.median(x, axis=0))


def candidate_rows(r: Ranking, snap: Snapshot, n_candidates: int, extra: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The ranker's candidates (ascending positions, plus ``extra``) and their feature rows."""
    cands, ties, seed = candidates(r, snap, n_candidates)
    if extra is not None and len(extra):
        cands = np.union1d(cands, extra)
    if len(cands) == 0:
        return cands, np.zeros((0, len(features.FEATURES)))
    return cands, features.candidate_matrix(snap.catalogue, r.docs, r.org_scores, cands, ties, seed)


def candidates(r: Ranking, snap: Snapshot, n_candidates: int) -> tuple[np.ndarray, Ties | None, int | None]:
    """The best ``max(n_candidates, k)`` positions by fused score, plus the seed's allowed partners."""
    cands = fuse.top_k(r.org_scores, max(n_candidates, r.query.k))
    pos = snap.catalogue.org_index([r.query.seed]) if r.query.seed is not None else []
    if not len(pos):
        return cands, None, None
    seed = int(pos[0])
    ties = snap.graph.ties(seed)
    partners = np.flatnonzero((ties.shared > 0) & np.isfinite(r.org_scores))
    return np.union1d(cands, partners), ties, seed


def _finite_or(x: np.ndarray, floor: float = -1e9) -> np.ndarray:
    return np.where(np.isfinite(x), x, floor)
