"""The query path as a list of stages over one :class:`~matcher.retrieval.scores.Ranking`.

::

    retrieve (dense + lexical, fuse, aggregate, filters)
      -> [size prior, ties to the one asking: unless the ranker re-orders] -> mark feedback -> [rerank]
      -> [apply feedback] -> cut to k -> explain

A stage that is off (no ranker, no feedback on this question) is skipped here, never
special-cased inside another. A :class:`Pipeline` is immutable: the service holds one, the
evaluation builds one per method, and neither changes the other's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from matcher.domain import Query, Suggestion
from matcher.ranking import feedback, prior, ties
from matcher.ranking.explain import bare, explain
from matcher.ranking.rank import Ranker
from matcher.ranking.rerank import applies, rerank
from matcher.retrieval.retrieve import RankingConfig, retrieve
from matcher.retrieval.scores import Ranking
from matcher.retrieval.snapshot import Snapshot
from matcher.storage.store import Store


@dataclass(frozen=True)
class Pipeline:
    """How a question is ranked: the unlearned settings and, optionally, a learned ranker."""

    config: RankingConfig = field(default_factory=RankingConfig)
    ranker: Ranker | None = None

    def rank(self, snap: Snapshot, query: Query, qvec: np.ndarray, context_vec: np.ndarray | None = None) -> Ranking:
        """The ranking of ``query`` cut to ``query.k``, before explanation."""
        r = retrieve(snap, query, qvec, self.config, context_vec)
        learned = self.config.rerank and self.ranker is not None and applies(self.ranker, r)
        if not learned:
            r = prior.boost(r, snap, self.config.activity_weight)
            r = ties.boost(r, snap, self.config.seed_weight, self.config.seed_within)
        r = feedback.mark(r, snap.catalogue)
        if learned:
            assert self.ranker is not None
            r = rerank(r, snap, self.ranker, self.config.candidates)
        if r.has_feedback:
            r = feedback.apply(r)
        return cut(r, query.k)

    def run(self, snap: Snapshot, store: Store, query: Query, qvec: np.ndarray, explained: bool = True,
            context_vec: np.ndarray | None = None) -> list[Suggestion]:
        """Suggestions for ``query``; without ``explained`` only ids, ranks and scores (for metrics)."""
        r = self.rank(snap, query, qvec, context_vec)
        return explain(r, snap, store, self.ranker) if explained else bare(r, snap)


def cut(r: Ranking, k: int) -> Ranking:
    """The first ``k`` of the order (scores and feature rows alike)."""
    return replace(r, order=r.order[:k], learned=None if r.learned is None else r.learned[:k],
                   rows=None if r.rows is None else r.rows[:k])
