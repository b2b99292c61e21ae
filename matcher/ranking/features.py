"""Features of (query, candidate organisation) pairs for the learned ranker. Pure numpy functions.

Every feature is computed for all organisations at once from the retrieval stage's
per-document scores, then the candidates' rows are taken. The same function serves
training (:mod:`matcher.evaluation.train`) and the live service (:mod:`matcher.ranking.rerank`), so the
two can never drift apart; the ranker's card lists :data:`FEATURES` and loading refuses
a card whose list differs.
"""

from __future__ import annotations

import numpy as np

from matcher.domain import KIND_VALUES
from matcher.retrieval import fuse
from matcher.retrieval.catalogue import Catalogue
from matcher.retrieval.graph import Ties
from matcher.retrieval.scores import DocScores

TOP_DOCS = 100  # "evidence among the top hits" counts a candidate's documents among this many best
FLOOR = -10.0  # stands for "not retrieved" in score features (models need finite numbers)

FEATURES: tuple[str, ...] = (
    "fused", "fused_rank_log", "dense_best", "dense_mean3", "lexical_best_log", "hits_top",
    "activity_log", "years_since_latest",
    *(f"kind_{k}" for k in KIND_VALUES),
    "seeded", "seed_shared_log", "seed_years_since_shared", "seed_two_hop", "seed_same_country",
)


def _finite(x: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    return np.where(np.isfinite(x), x, floor)


def org_score_features(cat: Catalogue, docs: DocScores, org_scores: np.ndarray) -> np.ndarray:
    """(n_orgs, 6): fused, log rank, best and top-3 mean dense, log best BM25, documents among top hits."""
    n = cat.n_orgs
    dense_best, _ = fuse.aggregate(docs.dense, cat.link_doc, cat.link_org, n, 1)
    dense_sum3, dense_n = fuse.aggregate(docs.dense, cat.link_doc, cat.link_org, n, 3)
    lex_best, _ = fuse.aggregate(docs.lexical, cat.link_doc, cat.link_org, n, 1)
    top = np.zeros(len(docs.fused), dtype=bool)
    finite = np.flatnonzero(np.isfinite(docs.fused))
    top[finite[np.argsort(-docs.fused[finite], kind="stable")[:TOP_DOCS]]] = True
    hits = np.bincount(cat.link_org[top[cat.link_doc]], minlength=n)
    rank = np.empty(n)
    rank[np.argsort(-_finite(org_scores, -1e9), kind="stable")] = np.arange(1, n + 1)
    return np.column_stack([
        _finite(org_scores), np.log1p(rank), _finite(dense_best),
        _finite(dense_sum3 / np.maximum(np.minimum(dense_n, 3), 1)),
        np.log1p(np.maximum(_finite(lex_best, 0.0), 0.0)), np.log1p(hits)])


def org_profile_features(cat: Catalogue) -> np.ndarray:
    """(n_orgs, 2 + n_kinds): log activity, years since the newest evidence, kind one-hot.

    Recency is measured from the catalogue's newest evidence, so a catalogue frozen at a
    split date and a live one are treated alike.
    """
    latest = cat.latest if cat.latest is not None else np.zeros(cat.n_orgs, dtype=np.int64)
    ref = latest.max(initial=0)
    years = np.where(latest > 0, (ref - latest) / 365.25, 10.0)
    kinds = np.column_stack([(cat.kinds == k).astype(np.float64) for k in KIND_VALUES])
    return np.column_stack([np.log1p(cat.activity), years, kinds])


def seed_features(cat: Catalogue, ties: Ties | None, seed: int | None) -> np.ndarray:
    """(n_orgs, 5): seeded flag, log projects together, years since the latest, two hops, same country."""
    n = cat.n_orgs
    if ties is None or seed is None:
        return np.column_stack([np.zeros(n), np.zeros(n), np.full(n, 10.0), np.zeros(n), np.zeros(n)])
    ref_year = ties.last_year.max(initial=0)
    since = np.where(ties.last_year > 0, ref_year - ties.last_year, 10.0)
    same = (cat.countries == cat.countries[seed]).astype(np.float64)
    return np.column_stack([np.ones(n), np.log1p(ties.shared), since, ties.two_hop.astype(np.float64), same])


def candidate_matrix(cat: Catalogue, docs: DocScores, org_scores: np.ndarray, candidates: np.ndarray,
                     ties: Ties | None = None, seed: int | None = None) -> np.ndarray:
    """(len(candidates), len(FEATURES)) feature rows of the candidate organisation positions."""
    full = np.hstack([org_score_features(cat, docs, org_scores), org_profile_features(cat),
                      seed_features(cat, ties, seed)])
    assert full.shape[1] == len(FEATURES)
    return full[candidates]
