"""Features of (query, candidate organisation) pairs for the learned ranker. Pure numpy functions.

Every feature is computed for the candidate organisations only, from the retrieval stage's
per-document scores and the candidates' own evidence links (a rank among all organisations
counts the scored ones only). The same function serves
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


def org_score_features(cat: Catalogue, docs: DocScores, org_scores: np.ndarray, orgs: np.ndarray) -> np.ndarray:
    """(len(orgs), 6) for the organisations at positions ``orgs``: fused, log rank (among every
    organisation), best and top-3 mean dense, log best BM25, documents among the top hits.

    Only the given organisations' evidence links are read, so a ranker's 200 candidates cost the
    same in a catalogue of a million documents as in one of a thousand.
    """
    counts = cat.org_start[orgs + 1] - cat.org_start[orgs]
    which = np.repeat(np.arange(len(orgs)), counts)  # each link's candidate, links in catalogue order
    link_doc = cat.link_doc[np.arange(int(counts.sum())) + np.repeat(cat.org_start[orgs] - np.cumsum(counts) + counts,
                                                                      counts)]
    m = len(orgs)
    dense_best, _ = fuse.aggregate(docs.dense, link_doc, which, m, 1)
    dense_sum3, dense_n = fuse.aggregate(docs.dense, link_doc, which, m, 3)
    lex_best, _ = fuse.aggregate(docs.lexical, link_doc, which, m, 1)
    top = np.zeros(len(docs.fused), dtype=bool)
    finite = np.flatnonzero(np.isfinite(docs.fused))
    top[finite[np.argsort(-docs.fused[finite], kind="stable")[:TOP_DOCS]]] = True
    hits = np.bincount(which[top[link_doc]], minlength=m)
    return np.column_stack([
        _finite(org_scores[orgs]), np.log1p(_rank(org_scores, orgs)), _finite(dense_best),
        _finite(dense_sum3 / np.maximum(np.minimum(dense_n, 3), 1)),
        np.log1p(np.maximum(_finite(lex_best, 0.0), 0.0)), np.log1p(hits)])


def _rank(org_scores: np.ndarray, orgs: np.ndarray) -> np.ndarray:
    """1-based rank of ``orgs`` among every organisation by score, ties by position, the unscored
    (``-inf``) after the scored in position order: a stable sort of all, computed from the scored only."""
    scored = np.flatnonzero(np.isfinite(org_scores))
    rank = np.empty(len(scored))
    rank[np.lexsort((scored, -org_scores[scored]))] = np.arange(1, len(scored) + 1)
    at = np.searchsorted(scored, orgs)
    out = (len(scored) + 1 + orgs - at).astype(np.float64)  # unscored: behind every scored one
    is_scored = np.isin(orgs, scored)
    out[is_scored] = rank[at[is_scored]]
    return out


def org_profile_features(cat: Catalogue, orgs: np.ndarray) -> np.ndarray:
    """(len(orgs), 2 + n_kinds): log activity, years since the newest evidence, kind one-hot.

    Recency is measured from the catalogue's newest evidence, so a catalogue frozen at a
    split date and a live one are treated alike.
    """
    latest = cat.latest if cat.latest is not None else np.zeros(cat.n_orgs, dtype=np.int64)
    ref = latest.max(initial=0)
    years = np.where(latest[orgs] > 0, (ref - latest[orgs]) / 365.25, 10.0)
    kinds = np.column_stack([(cat.kinds[orgs] == k).astype(np.float64) for k in KIND_VALUES])
    activity = cat.org_start[orgs + 1] - cat.org_start[orgs]
    return np.column_stack([np.log1p(activity), years, kinds])


def seed_features(cat: Catalogue, ties: Ties | None, seed: int | None, orgs: np.ndarray) -> np.ndarray:
    """(len(orgs), 5): seeded flag, log projects together, years since the latest, two hops, same country."""
    n = len(orgs)
    if ties is None or seed is None:
        return np.column_stack([np.zeros(n), np.zeros(n), np.full(n, 10.0), np.zeros(n), np.zeros(n)])
    ref_year = ties.last_year.max(initial=0)
    last = ties.last_year[orgs]
    since = np.where(last > 0, ref_year - last, 10.0)
    same = (cat.countries[orgs] == cat.countries[seed]).astype(np.float64)
    return np.column_stack([np.ones(n), np.log1p(ties.shared[orgs]), since, ties.two_hop[orgs].astype(np.float64),
                            same])


def candidate_matrix(cat: Catalogue, docs: DocScores, org_scores: np.ndarray, candidates: np.ndarray,
                     ties: Ties | None = None, seed: int | None = None) -> np.ndarray:
    """(len(candidates), len(FEATURES)) feature rows of the candidate organisation positions."""
    candidates = np.asarray(candidates, dtype=np.int64)
    rows = np.hstack([org_score_features(cat, docs, org_scores, candidates), org_profile_features(cat, candidates),
                      seed_features(cat, ties, seed, candidates)])
    assert rows.shape[1] == len(FEATURES)
    return rows
