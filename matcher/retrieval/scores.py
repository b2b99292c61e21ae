"""The object a query's stages read and extend: :class:`Ranking`.

Retrieval creates it (per-document and per-organisation scores, a first order); each later
stage (rerank, feedback, cut) returns a new one with :func:`dataclasses.replace`, so no
stage changes what an earlier one produced. Positions are catalogue positions
(:class:`matcher.retrieval.catalogue.Catalogue`), never database ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.domain import Query

_NONE = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class DocScores:
    """Per-document scores of one query (``-inf`` where a retriever did not return the document)."""

    fused: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    context_dense: np.ndarray | None = None  # dense score against the whole question, when the text is a part


@dataclass(frozen=True)
class Ranking:
    """One query on its way through the stages.

    Attributes:
        query: the question.
        docs: (n_docs,) fused, dense and lexical scores per document.
        org_scores: (n_orgs,) aggregated fused score; ``-inf`` when filtered out or not retrieved.
        hits: (n_orgs,) how many of each organisation's evidence pieces were retrieved.
        order: catalogue positions, best first (the current answer, longer than ``k`` until cut).
        learned: ranker scores aligned with ``order``, when a ranker ran.
        rows: feature rows aligned with ``order`` (len(order), n_features), when a ranker ran.
        reference: the median feature row over the ranker's candidates (for the reasons).
        liked: positions judged relevant (or contacted, partnered) for this question, still allowed.
        unwanted: positions to show last: judged not relevant, or look-alikes of the one asking.
        shared: (n_orgs,) projects each organisation did with the one asking, when ties re-scored it.
    """

    query: Query
    docs: DocScores
    org_scores: np.ndarray
    hits: np.ndarray
    order: np.ndarray
    learned: np.ndarray | None = None
    rows: np.ndarray | None = None
    reference: np.ndarray | None = None
    liked: np.ndarray = field(default_factory=lambda: _NONE)
    unwanted: np.ndarray = field(default_factory=lambda: _NONE)
    shared: np.ndarray | None = None

    @property
    def has_feedback(self) -> bool:
        return bool(len(self.liked) or len(self.unwanted))
