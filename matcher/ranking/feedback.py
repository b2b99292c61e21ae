"""Feedback on this very question: organisations judged relevant first, those judged not relevant last.

Two steps around the ranker: :func:`mark` finds the judged organisations (so the ranker scores
the liked ones too), :func:`apply` moves them. The ranker's scores and feature rows move with
their organisations.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.retrieval import fuse
from matcher.retrieval.catalogue import Catalogue
from matcher.retrieval.scores import Ranking


def mark(r: Ranking, cat: Catalogue) -> Ranking:
    """``r`` with the liked positions (judged relevant, contacted or partnered, and still allowed) and the
    unwanted ones (judged not relevant, or look-alikes of the organisation asking)."""
    q = r.query
    liked = cat.org_index([int(i) for i, v in q.verdicts.items() if v != "not_relevant"])
    unwanted = cat.org_index([int(i) for i, v in q.verdicts.items() if v == "not_relevant"] + list(q.demote))
    return replace(r, liked=liked[np.isfinite(r.org_scores[liked])], unwanted=unwanted)


def apply(r: Ranking) -> Ranking:
    """``r`` reordered by its verdicts; the rest keep their order (see :func:`fuse.apply_verdicts`)."""
    order = fuse.apply_verdicts(r.order, r.liked, r.unwanted)
    if r.learned is None or r.rows is None:
        return replace(r, order=order)
    rows = positions_in(r.order, order)
    return replace(r, order=order, learned=r.learned[rows], rows=r.rows[rows])


def positions_in(order: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Indices into ``order`` of each of ``items`` (all of which are in ``order``).

    >>> positions_in(np.array([7, 3, 5]), np.array([5, 7])).tolist()
    [2, 0]
    """
    sorter = np.argsort(order)
    return sorter[np.searchsorted(order, items, sorter=sorter)]
