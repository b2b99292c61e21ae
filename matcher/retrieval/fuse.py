"""Score fusion and aggregation of evidence scores per organisation. Pure numpy functions."""

from __future__ import annotations

import numpy as np

from matcher.errors import InvalidInput

RRF_K = 60


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every entry by descending score (ties broken by position)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def rrf(rank_lists: list[np.ndarray], k: int = RRF_K, weights: list[float] | None = None) -> np.ndarray:
    """Reciprocal rank fusion: sum over lists of w / (k + rank); rank ``inf`` contributes 0.

    >>> rrf([np.array([1.0, 2.0]), np.array([2.0, np.inf])]).round(5).tolist()
    [0.03252, 0.01613]
    """
    total = np.zeros(len(rank_lists[0]), dtype=np.float64)
    for r, w in zip(rank_lists, weights or [1.0] * len(rank_lists)):
        total += w / (k + r)
    return total


def standardise(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(x - mean) / std over the entries in ``mask`` (all when None); constant input gives zeros."""
    ref = scores if mask is None else scores[mask]
    if ref.size == 0:
        return np.zeros_like(scores, dtype=np.float64)
    sd = float(ref.std())
    return (scores - float(ref.mean())) / sd if sd > 0 else np.zeros_like(scores, dtype=np.float64)


def aggregate(doc_scores: np.ndarray, link_doc: np.ndarray, link_org: np.ndarray,
              n_orgs: int, top: int = 3, decay: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per organisation, the sum of its ``top`` best evidence scores (the i-th weighted ``decay**i``).

    Args:
        doc_scores: (n_docs,) score of each document (a distinct evidence text); ``-inf`` = not retrieved.
        link_doc, link_org: (n_links,) document index and organisation index of each evidence row.
        n_orgs: number of organisations (length of the output).
        top: how many evidence pieces count per organisation.
        decay: weight ratio between consecutive pieces (1.0 = plain sum).

    Returns:
        (scores, counts): (n_orgs,) aggregated score (``-inf`` for none retrieved) and the
        number of each organisation's evidence pieces that were retrieved.
    """
    orgs, sums, counts = aggregate_links(doc_scores[link_doc], link_org, top, decay)
    out = np.full(n_orgs, -np.inf)
    out[orgs] = sums
    full_counts = np.zeros(n_orgs, dtype=np.int64)
    full_counts[orgs] = counts
    return out, full_counts


def aggregate_links(s: np.ndarray, link_org: np.ndarray, top: int = 3, decay: float = 1.0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`aggregate` for the organisations present only: its cost follows the links given, not the
    catalogue. ``s`` is the score of each link's document (``-inf``: not retrieved).

    Returns:
        (orgs, sums, counts): the organisations with a retrieved piece (ascending), their aggregated
        score and their number of retrieved pieces.

    >>> [a.tolist() for a in aggregate_links(np.array([0.5, 0.25, -np.inf, 1.0]), np.array([7, 7, 2, 2]), 1)]
    [[2, 7], [1.0, 0.5], [1, 2]]
    """
    keep = np.isfinite(s)
    s, orgs = s[keep], link_org[keep]
    if s.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort((-s, orgs))  # by organisation, best score first
    s, orgs = s[order], orgs[order]
    starts = np.r_[0, np.flatnonzero(np.diff(orgs)) + 1]
    counts = np.diff(np.r_[starts, len(orgs)])
    pos = np.arange(len(orgs)) - np.repeat(starts, counts)
    sel = pos < top
    group = np.repeat(np.arange(len(starts)), counts)  # each piece's organisation, numbered 0..m-1
    # bincount adds each organisation's pieces in this order (best first), as over the full catalogue
    sums = np.bincount(group[sel], weights=s[sel] * decay ** pos[sel], minlength=len(starts))
    return orgs[starts], sums, counts


def apply_verdicts(order: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """A ranking with users' verdicts on this very query applied: organisations marked relevant
    (or contacted, partnered) first, those marked not relevant last; the rest keep their order.

    Args:
        order: (n,) positions, best first. positive, negative: positions with a verdict; a
            positive one missing from ``order`` is put in front (it was judged, so it is wanted).

    >>> apply_verdicts(np.array([5, 3, 9, 1]), np.array([1]), np.array([3])).tolist()
    [1, 5, 9, 3]
    """
    pos = positive[~np.isin(positive, negative)]
    rest = order[~np.isin(order, pos)]
    neg_mask = np.isin(rest, negative)
    return np.concatenate([pos, rest[~neg_mask], rest[neg_mask]]).astype(order.dtype)


FUSIONS = ("zsum", "rrf", "dense", "bm25")


def fuse_scores(dense: np.ndarray, lexical: np.ndarray, method: str = "zsum", dense_weight: float = 1.0,
                lexical_weight: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """One score per document from the dense and lexical scores (``-inf`` = not returned by that one).

    ``zsum`` standardises each retriever's scores over what it returned (a document one retriever
    missed counts as that retriever's worst), sums them with weights, and keeps only the part above
    ``shift`` as evidence, so an organisation gains from several strong pieces, not from many
    mediocre ones; below it a tiny, order-preserving weight remains, so a filtered query can still
    fill its places when nothing better exists. ``rrf`` is reciprocal rank fusion; ``dense`` and
    ``bm25`` pass one retriever through. A document neither returned stays ``-inf``.

    >>> inf = float("inf")
    >>> fuse_scores(np.array([0.9, 0.5, 0.1]), np.array([4.0, 2.0, -inf])).round(3).tolist()
    [2.226, 0.0, 0.0]
    >>> fuse_scores(np.array([0.9, -inf]), np.array([-inf, -inf]), "bm25").tolist()
    [-inf, -inf]
    """
    if method == "dense":
        return dense
    if method == "bm25":
        return lexical
    hit = np.isfinite(dense) | np.isfinite(lexical)
    if method == "rrf":
        rd = np.where(np.isfinite(dense), ranks_of(dense), np.inf)
        rl = np.where(np.isfinite(lexical), ranks_of(lexical), np.inf)
        out = rrf([rd, rl], weights=[dense_weight, lexical_weight])
    elif method == "zsum":
        d = _standardised_or_worst(dense)
        lx = _standardised_or_worst(lexical)
        z = dense_weight * d + lexical_weight * lx - shift
        out = np.maximum(z, 0.0) + 1e-3 * np.exp(np.minimum(z, 0.0))
    else:
        raise InvalidInput(f"unknown fusion {method!r}: expected one of {', '.join(FUSIONS)}")
    return np.where(hit, out, -np.inf)


def _standardised_or_worst(scores: np.ndarray) -> np.ndarray:
    """Standardised over the returned (finite) entries; the others get the lowest returned value."""
    returned = np.isfinite(scores)
    z = standardise(scores, returned)
    return np.where(returned, z, z[returned].min(initial=0.0))


def unit_scaled(scores: np.ndarray) -> np.ndarray:
    """Finite scores scaled to [0, 1] (min to 0, max to 1; all 1 when they are equal); ``-inf`` stays.

    >>> unit_scaled(np.array([2.0, -np.inf, 4.0, 3.0])).tolist()
    [0.0, -inf, 1.0, 0.5]
    """
    ok = np.isfinite(scores)
    out = np.full(len(scores), -np.inf)
    if ok.any():
        s = scores[ok]
        lo, hi = float(s.min()), float(s.max())
        out[ok] = (s - lo) / (hi - lo) if hi > lo else 1.0
    return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest finite scores, best first, ties by index (so a shorter list is
    always a prefix of a longer one, whatever ties straddle the cut).

    >>> top_k(np.array([0.2, -np.inf, 0.9, 0.2]), 3).tolist()
    [2, 0, 3]
    >>> top_k(np.array([0.5, 0.5, 0.5, 0.9]), 2).tolist()
    [3, 0]
    """
    finite = np.flatnonzero(np.isfinite(scores))
    if k <= 0:
        return finite[:0]
    if len(finite) > k:
        kth = scores[finite[np.argpartition(-scores[finite], k - 1)[k - 1]]]
        finite = finite[scores[finite] >= kth]  # every tie of the k-th score, then the lowest indices
    return finite[np.lexsort((finite, -scores[finite]))][:k]
