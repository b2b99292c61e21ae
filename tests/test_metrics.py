"""Ranking metrics, each checked three ways (perfect = 1, no hit = 0, a hand-computed case) and
against a slow, obvious reference on random rankings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.evaluation import metrics


def slow_recall(r: list[int], g: set[int], k: int) -> float:
    return len(set(r[:k]) & g) / len(g)


def slow_ndcg(r: list[int], g: set[int], k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, x in enumerate(r[:k]) if x in g)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(g), k)))
    return dcg / ideal


def slow_rr(r: list[int], g: set[int]) -> float:
    return next((1 / (i + 1) for i, x in enumerate(r) if x in g), 0.0)


def test_a_perfect_ranking_scores_one() -> None:
    r, g = [[3, 1, 2, 9, 8]], [{3, 1, 2}]
    assert metrics.recall_at_k(r, g, 3) == 1.0
    assert metrics.ndcg_at_k(r, g, 10) == pytest.approx(1.0)
    assert metrics.mrr(r, g) == 1.0


def test_a_ranking_without_hits_scores_zero() -> None:
    r, g = [[4, 5, 6]], [{1, 2}]
    assert metrics.recall_at_k(r, g, 50) == metrics.ndcg_at_k(r, g, 10) == metrics.mrr(r, g) == 0.0
    assert metrics.recall_curve(r, g, [1, 2, 3]).tolist() == [0.0, 0.0, 0.0]


def test_a_hand_computed_case() -> None:
    # query 1: gold {2, 7}, hits at ranks 2 and 4; query 2: gold {5}, hit at rank 1
    r, g = [[1, 2, 3, 7], [5, 6]], [{2, 7}, {5}]
    assert metrics.recall_at_k(r, g, 2) == pytest.approx((0.5 + 1.0) / 2)
    ndcg1 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(r, g, 10) == pytest.approx((ndcg1 + 1.0) / 2)
    assert metrics.mrr(r, g) == pytest.approx((1 / 2 + 1) / 2)
    assert metrics.summarize(r, g, ks=(2,), ndcg_k=10) == pytest.approx(
        {"recall@2": 0.75, "ndcg@10": (ndcg1 + 1) / 2, "mrr": 0.75})


def test_recall_by_group_counts_gold_items_of_each_group() -> None:
    r, g = [[1, 2, 3], [4, 5]], [{1, 9}, {5, 8}]
    groups = {1: "sme", 9: "sme", 5: "hospital", 8: "sme"}
    assert metrics.recall_by_group(r, g, groups, 3) == {"hospital": 1.0, "sme": pytest.approx(1 / 3)}


def test_queries_without_gold_are_refused() -> None:
    with pytest.raises(ValueError, match="gold"):
        metrics.recall_at_k([[1]], [set()], 10)


def test_fast_metrics_match_slow_references_on_random_rankings() -> None:
    rng = np.random.default_rng(7)
    ranks, golds = [], []
    for _ in range(200):
        ranks.append(rng.permutation(60)[: int(rng.integers(0, 60))].tolist())
        golds.append(set(rng.choice(60, size=int(rng.integers(1, 8)), replace=False).tolist()))
    for k in (1, 5, 10, 50):
        assert metrics.recall_at_k(ranks, golds, k) == pytest.approx(
            np.mean([slow_recall(r, g, k) for r, g in zip(ranks, golds)]))
        assert metrics.ndcg_at_k(ranks, golds, k) == pytest.approx(
            np.mean([slow_ndcg(r, g, k) for r, g in zip(ranks, golds)]))
    assert metrics.mrr(ranks, golds) == pytest.approx(np.mean([slow_rr(r, g) for r, g in zip(ranks, golds)]))
    curve = metrics.recall_curve(ranks, golds, [1, 5, 10, 50])
    assert curve.tolist() == pytest.approx([metrics.recall_at_k(ranks, golds, k) for k in (1, 5, 10, 50)])
