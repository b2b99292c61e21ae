"""The seeded stage: an organisation that asks sees the partners it worked with before higher up,
as far as the text fits them.

On real consortia, a third or more of a coordinator's partners had worked with it before (34-36%
on the health catalogue, 42% on the whole programme, over three time splits; docs/EVALUATION.md),
so a question asked by an organisation (a challenge's poser, partners for an organisation, a
consortium's coordinator) weighs those ties in. The fused score is scaled to [0, 1] over the
retrieved organisations, then multiplied by ``1 + weight * log(1 + projects together)``: a past
partner that the text does not fit at all stays at the bottom, and one that fits moves up.

Only the best ``within`` organisations by the text may move (the ties re-order what the text
found, they never bring in a partner it does not fit), and only for questions that form a team
around the one asking (``Query.ties``: partners for an organisation, the ``seeded`` evaluation
task), not for a challenge or a role, where the evidence alone must answer "who can do this part".
Unlearned, and skipped when the learned ranker re-orders the question (it has its own tie features).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.retrieval import fuse
from matcher.retrieval.scores import Ranking
from matcher.retrieval.snapshot import Snapshot


def boost(r: Ranking, snap: Snapshot, weight: float, within: int = 0) -> Ranking:
    """``r`` re-scored and re-ordered by ties to ``r.query.seed``; unchanged without a seed or ties.

    With ``within`` > 0 only the best ``within`` organisations by the text may move up, so the
    ties re-order what the text found and never bring in a partner the text does not fit.
    """
    if weight <= 0 or r.query.seed is None or not r.query.ties:
        return r
    pos = snap.catalogue.org_index([r.query.seed])
    if not len(pos):
        return r
    shared = snap.graph.ties(int(pos[0])).shared
    ok = np.isfinite(r.org_scores)
    if within > 0:
        near = np.zeros(len(ok), dtype=bool)
        near[fuse.top_k(r.org_scores, within)] = True
        shared = np.where(near, shared, 0.0)
    if not (shared[ok] > 0).any():
        return r
    scores = fuse.unit_scaled(r.org_scores) * (1.0 + weight * np.log1p(shared))
    return replace(r, org_scores=scores, order=fuse.top_k(scores, len(r.order)), shared=shared)
