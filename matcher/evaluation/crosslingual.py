"""Cross-lingual evaluation: does a question in Dutch find what the same question in English finds?

Each pair is one healthcare need written once in English and once in Dutch
(``data/crosslingual/pairs.json``). Both texts run through the same matcher; the English
results are the reference. Per pair we report the overlap of the two top-k lists and the rank,
in the Dutch results, of the English query's first organisation. Overall: the mean and minimum
overlap and the share of pairs whose English first organisation is in the Dutch top 5.

The metrics are plain functions over lists of organisation ids, so they are tested on their own;
:func:`run_crosslingual` only runs the queries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matcher.domain import Query
from matcher.engine import Matcher

PAIRS_FILE = Path(__file__).resolve().parents[2] / "data" / "crosslingual" / "pairs.json"
RANK_DEPTH = 50  # Dutch results read to find the English first organisation; deeper counts as not found
TOP_FIRST = 5  # the goal: the English first organisation within the Dutch top 5


def load_pairs(path: Path = PAIRS_FILE) -> list[dict[str, str]]:
    """The pairs of a ``pairs.json``: dicts with ``key``, ``en`` and ``nl`` (and ``poser``)."""
    pairs = json.loads(Path(path).read_text(encoding="utf-8"))
    for p in pairs:
        if not p.get("en", "").strip() or not p.get("nl", "").strip():
            raise ValueError(f"pair {p.get('key')!r}: needs both an 'en' and an 'nl' text")
    return pairs


def overlap(a: Sequence[int], b: Sequence[int], k: int) -> int:
    """Organisations shared by the first ``k`` of two rankings.

    >>> overlap([1, 2, 3, 4], [4, 3, 9, 8], 3)
    1
    """
    return len(set(a[:k]) & set(b[:k]))


def rank_of(org: int | None, ranking: Sequence[int]) -> int | None:
    """The 1-based rank of ``org`` in ``ranking``, or None when it is absent.

    >>> rank_of(7, [3, 7, 1]), rank_of(5, [3, 7, 1])
    (2, None)
    """
    if org is None or org not in ranking:
        return None
    return list(ranking).index(org) + 1


def pair_figures(english: Sequence[int], dutch: Sequence[int], k: int) -> dict[str, Any]:
    """Overlap of the two top-``k`` lists and the Dutch rank of the English first organisation."""
    first = english[0] if english else None
    return {"overlap": overlap(english, dutch, k), "first_rank": rank_of(first, dutch)}


def summarise(per_pair: Sequence[dict[str, Any]], top: int = TOP_FIRST) -> dict[str, Any]:
    """Mean and minimum overlap, and the share of pairs with the English first in the Dutch top ``top``.

    >>> summarise([{"overlap": 6, "first_rank": 1}, {"overlap": 3, "first_rank": None}])
    {'pairs': 2, 'mean_overlap': 4.5, 'min_overlap': 3, 'first_in_top5': 0.5}
    """
    n = len(per_pair)
    if not n:
        return {"pairs": 0, "mean_overlap": 0.0, "min_overlap": 0, f"first_in_top{top}": 0.0}
    hits = sum(1 for p in per_pair if p["first_rank"] is not None and p["first_rank"] <= top)
    return {"pairs": n, "mean_overlap": round(sum(p["overlap"] for p in per_pair) / n, 3),
            "min_overlap": min(p["overlap"] for p in per_pair), f"first_in_top{top}": round(hits / n, 3)}


def run_crosslingual(matcher: Matcher, pairs: Sequence[dict[str, str]], k: int = 10) -> dict[str, Any]:
    """Run every pair's English and Dutch text through ``matcher`` (synced) and measure their agreement.

    Args:
        matcher: a synced matcher; its own pipeline ranks (the shipped ranker, if it has one).
        pairs: dicts with ``key``, ``en`` and ``nl`` (see :func:`load_pairs`).
        k: the length of the lists compared.

    Returns:
        ``{"k", "pairs", "mean_overlap", "min_overlap", "first_in_top5", "per_pair": [{"key",
        "overlap", "first_rank"}, ...]}``; ``first_rank`` is None when the English first
        organisation is not in the Dutch top ``max(k, 50)``.
    """
    depth = max(k, RANK_DEPTH)
    english = matcher.search_batch([Query(p["en"], k=k) for p in pairs])
    dutch = matcher.search_batch([Query(p["nl"], k=depth) for p in pairs])
    per_pair = []
    for p, en, nl in zip(pairs, english, dutch):
        en_ids = [s.organisation.id for s in en]
        nl_ids = [s.organisation.id for s in nl]
        per_pair.append({"key": p.get("key", ""), **pair_figures(en_ids, nl_ids, k)})
    return {"k": k, **summarise(per_pair), "per_pair": per_pair}
