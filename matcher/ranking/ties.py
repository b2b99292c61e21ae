"""The seeded stage: an organisation that asks sees the partners it worked with before higher up,
as far as the text fits them.

On real consortia, a third or more of a coordinator's partners had worked with it before (34-36%
on the health catalogue, 42% on the whole programme, over three time splits; docs/EVALUATION.md),
so a question asked by an organisation (a challenge's poser, partners for an organisation, a
consortium's coordinator) weighs those ties in. The fused score is scaled to [0, 1] over the
retrieved organisations, then multiplied by ``1 + weight * log(1 + projects together)``: a past
partner that the text does not fit at all stays at the bottom, and one that fits moves up.

Unlearned, and skipped when the learned ranker re-orders the question (it has its own tie features).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.retrieval import fuse
from matcher.retrieval.scores import Ranking
from matcher.retrieval.snapshot import Snapshot


def boost(r: Ranking, snap: Snapshot, weight: float) -> Ranking:
    """``r`` re-scored and re-ordered by ties to ``r.query.seed``; unchanged without a seed or ties."""
    if weight <= 0 or r.query.seed is None:
        return r
    pos = snap.catalogue.org_index([r.query.seed])
    if not len(pos):
        return r
    shared = snap.graph.ties(int(pos[0])).shared
    ok = np.isfinite(r.org_scores)
    if not (shared[ok] > 0).any():
        return r
    s = r.org_scores[ok]
    lo, hi = float(s.min()), float(s.max())
    scores = np.full(len(r.org_scores), -np.inf)
    scores[ok] = ((s - lo) / (hi - lo) if hi > lo else np.ones_like(s)) * (1.0 + weight * np.log1p(shared[ok]))
    return replace(r, org_scores=scores, order=fuse.top_k(scores, len(r.order)), shared=shared)
