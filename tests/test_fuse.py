"""Fusion and aggregation: checked against slow, obvious implementations."""

from __future__ import annotations

import numpy as np

from matcher.retrieval import fuse


def _slow_aggregate(doc_scores, link_doc, link_org, n_orgs, top, decay):  # type: ignore[no-untyped-def]
    out = [-np.inf] * n_orgs
    for o in range(n_orgs):
        s = sorted((doc_scores[d] for d, oo in zip(link_doc, link_org) if oo == o and np.isfinite(doc_scores[d])),
                   reverse=True)[:top]
        if s:
            out[o] = sum(x * decay ** i for i, x in enumerate(s))
    return np.array(out)


def test_aggregate_matches_a_slow_reference() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        n_docs, n_orgs = rng.integers(1, 40), rng.integers(1, 15)
        scores = rng.random(n_docs)
        scores[rng.random(n_docs) < 0.3] = -np.inf
        n_links = rng.integers(0, 80)
        link_doc, link_org = rng.integers(0, n_docs, n_links), rng.integers(0, n_orgs, n_links)
        top, decay = int(rng.integers(1, 4)), float(rng.choice([1.0, 0.5]))
        got, counts = fuse.aggregate(scores, link_doc, link_org, int(n_orgs), top, decay)
        want = _slow_aggregate(scores, link_doc, link_org, n_orgs, top, decay)
        assert np.allclose(np.nan_to_num(got, neginf=-1e9), np.nan_to_num(want, neginf=-1e9))
        assert counts.sum() == np.isfinite(scores[link_doc]).sum()


def test_aggregate_sums_the_top_pieces() -> None:
    # org 0 has evidence scored 3, 2, 1 (and a missing one); org 1 has one piece scored 5
    scores = np.array([3.0, 2.0, 1.0, 5.0, -np.inf])
    got, counts = fuse.aggregate(scores, np.array([0, 1, 2, 3, 4]), np.array([0, 0, 0, 1, 0]), 3, top=2)
    assert got[0] == 5.0 and got[1] == 5.0 and got[2] == -np.inf
    assert counts.tolist() == [3, 1, 0]


def test_rrf_by_hand() -> None:
    # doc 0 is 1st and 2nd: 1/61 + 1/62; doc 1 is 2nd in one list only: 1/62
    got = fuse.rrf([np.array([1.0, 2.0]), np.array([2.0, np.inf])])
    assert np.allclose(got, [1 / 61 + 1 / 62, 1 / 62])


def test_ranks_and_standardise() -> None:
    assert fuse.ranks_of(np.array([0.1, 0.9, 0.5])).tolist() == [3, 1, 2]
    z = fuse.standardise(np.array([1.0, 2.0, 3.0]))
    assert np.isclose(z.mean(), 0) and np.isclose(z.std(), 1)
    assert fuse.standardise(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]
