"""Ranking metrics for the evaluation. Pure functions over rankings (lists of ids) and gold sets.

Conventions (as in Microsoft recommenders' ``python_evaluation.py``):

* ``recall@k`` = |gold in the top k| / |gold|, averaged over queries;
* ``ndcg@k`` with binary gain, ideal DCG over min(|gold|, k) hits;
* ``mrr`` = 1 / rank of the first gold item (0 when none is ranked);
* queries with an empty gold set are not scored (the caller drops them).

>>> recall_at_k([[1, 2, 3]], [{3, 9}], 2)
0.0
>>> round(ndcg_at_k([[5, 1]], [{1}], 10), 4)
0.6309
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Ranking = Sequence[int]
Gold = set[int] | frozenset[int]


def _hits(rankings: Sequence[Ranking], golds: Sequence[Gold], depth: int) -> np.ndarray:
    """(n_queries, depth) 0/1 matrix: is the item at each position gold? Short rankings pad with 0."""
    out = np.zeros((len(rankings), depth), dtype=np.float64)
    for i, (r, g) in enumerate(zip(rankings, golds)):
        row = [1.0 if x in g else 0.0 for x in list(r)[:depth]]
        out[i, :len(row)] = row
    return out


def _gold_sizes(golds: Sequence[Gold]) -> np.ndarray:
    sizes = np.asarray([len(g) for g in golds], dtype=np.float64)
    if (sizes == 0).any():
        raise ValueError("every query needs at least one gold item")
    return sizes


def recall_at_k(rankings: Sequence[Ranking], golds: Sequence[Gold], k: int) -> float:
    """Mean share of each query's gold items found in its top ``k``."""
    if not rankings:
        return 0.0
    return float((_hits(rankings, golds, k).sum(axis=1) / _gold_sizes(golds)).mean())


def recall_curve(rankings: Sequence[Ranking], golds: Sequence[Gold], ks: Sequence[int]) -> np.ndarray:
    """Recall@k for every k in ``ks`` (one pass): shape (len(ks),)."""
    if not rankings:
        return np.zeros(len(ks))
    depth = max(ks)
    cum = np.cumsum(_hits(rankings, golds, depth), axis=1) / _gold_sizes(golds)[:, None]
    return cum[:, [k - 1 for k in ks]].mean(axis=0)


def ndcg_at_k(rankings: Sequence[Ranking], golds: Sequence[Gold], k: int) -> float:
    """Mean normalised discounted cumulative gain at ``k`` with binary relevance."""
    if not rankings:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = _hits(rankings, golds, k) @ discounts
    ideal_n = np.minimum(_gold_sizes(golds), k).astype(int)
    ideal = np.cumsum(discounts)[ideal_n - 1]
    return float((dcg / ideal).mean())


def mrr(rankings: Sequence[Ranking], golds: Sequence[Gold]) -> float:
    """Mean reciprocal rank of the first gold item within each ranking (0 when absent)."""
    if not rankings:
        return 0.0
    depth = max((len(r) for r in rankings), default=1) or 1
    hits = _hits(rankings, golds, depth)
    first = hits.argmax(axis=1)
    rr = np.where(hits.max(axis=1) > 0, 1.0 / (first + 1), 0.0)
    return float(rr.mean())


def summarize(rankings: Sequence[Ranking], golds: Sequence[Gold], ks: Sequence[int] = (10, 50),
              ndcg_k: int = 10) -> dict[str, float]:
    """``{"recall@k": ..., "ndcg@n": ..., "mrr": ...}`` for one method."""
    out = {f"recall@{k}": recall_at_k(rankings, golds, k) for k in ks}
    out[f"ndcg@{ndcg_k}"] = ndcg_at_k(rankings, golds, ndcg_k)
    out["mrr"] = mrr(rankings, golds)
    return out


def recall_by_group(rankings: Sequence[Ranking], golds: Sequence[Gold], group_of: Mapping[int, str],
                    k: int) -> dict[str, float]:
    """Recall@k restricted to the gold items of each group (for example organisation kind).

    Micro-averaged within a group: found gold items of the group / all gold items of the
    group, over all queries, so that a group with few members per query is not dominated by
    queries that happen to have one of them.
    """
    found: dict[str, int] = {}
    total: dict[str, int] = {}
    for r, g in zip(rankings, golds):
        top = set(list(r)[:k])
        for item in g:
            grp = group_of.get(item, "unknown")
            total[grp] = total.get(grp, 0) + 1
            found[grp] = found.get(grp, 0) + (item in top)
    return {grp: found[grp] / total[grp] for grp in sorted(total)}
