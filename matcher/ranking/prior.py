"""The size stage: inside a kind group where size predicts who joins (hospitals), active organisations move up.

Large university hospitals join many consortia whatever the topic, so inside the hospital group
popularity alone finds real partners as well as the text does (docs/EVALUATION.md, task ``role``).
This stage adds ``weight * log(1 + projects) / log(1 + most projects)`` to the fused score scaled to
[0, 1] over the retrieved organisations: a tie-breaker among those the text found, never a way in
for one it did not retrieve. Off (weight 0) unless a role's settings turn it on where it measured a gain.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.retrieval import fuse
from matcher.retrieval.scores import Ranking
from matcher.retrieval.snapshot import Snapshot


def boost(r: Ranking, snap: Snapshot, weight: float) -> Ranking:
    """``r`` re-scored with the activity prior; unchanged at weight 0 or with nothing retrieved."""
    if weight <= 0 or not np.isfinite(r.org_scores).any():
        return r
    size = np.log1p(snap.catalogue.activity.astype(np.float64))
    scores = fuse.unit_scaled(r.org_scores) + weight * size / max(float(size.max()), 1e-9)
    return replace(r, org_scores=scores, order=fuse.top_k(scores, len(r.order)))
