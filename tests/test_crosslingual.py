"""The cross-lingual evaluation: its metrics by hand, and the figures on the demo as the service ranks it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from matcher.engine import Matcher
from matcher.evaluation.crosslingual import (
    PAIRS_FILE,
    load_pairs,
    overlap,
    pair_figures,
    rank_of,
    run_crosslingual,
    summarise,
)
from tests.conftest import open_demo

HELDOUT = PAIRS_FILE.parent / "heldout.json"


def test_metrics_perfect_none_and_by_hand() -> None:
    assert pair_figures([1, 2, 3], [1, 2, 3], 3) == {"overlap": 3, "first_rank": 1}  # perfect
    assert pair_figures([1, 2, 3], [4, 5, 6], 3) == {"overlap": 0, "first_rank": None}  # nothing shared
    assert pair_figures([5, 1, 2, 9], [1, 2, 7, 5], 3) == {"overlap": 2, "first_rank": 4}  # 1, 2 shared; 5 fourth
    assert overlap([1, 2], [2, 1], 1) == 0 and rank_of(None, [1]) is None
    s = summarise([{"overlap": 10, "first_rank": 1}, {"overlap": 2, "first_rank": 6},
                   {"overlap": 6, "first_rank": 5}])
    assert s == {"pairs": 3, "mean_overlap": 6.0, "min_overlap": 2, "first_in_top5": pytest.approx(0.667)}


def test_the_pairs_are_complete_and_distinct() -> None:
    pairs, heldout = load_pairs(), load_pairs(HELDOUT)
    assert len(pairs) >= 30 and len(heldout) >= 10
    texts = [p[lang] for p in pairs + heldout for lang in ("en", "nl")]
    assert len(set(texts)) == len(texts)
    assert len({p["key"] for p in pairs + heldout}) == len(pairs) + len(heldout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matcher]:
    """The demo with the default model and the shipped ranker, as `matcher demo` and the service run it."""
    m = open_demo(tmp_path_factory.mktemp("xl"), ranked=True)
    yield m
    m.store.close()


def test_a_dutch_question_finds_what_the_english_one_finds(demo: Matcher) -> None:
    """Issue 20's goals on the 36 pairs (measured: mean 6.9 of 10, minimum 3, 89% in the top 5)."""
    out = run_crosslingual(demo, load_pairs(), k=10)
    assert out["pairs"] == len(out["per_pair"]) >= 30
    assert out["mean_overlap"] >= 6.0 and out["min_overlap"] >= 3 and out["first_in_top5"] >= 0.8, \
        {k: v for k, v in out.items() if k != "per_pair"}


def test_held_out_pairs_keep_the_measured_level(demo: Matcher) -> None:
    """Pairs written after the glossary was frozen (measured: 4.75 of 10 against 3.67 without the bridge,
    and 67% against 33% in the top 5): the bridge generalises, less than on the pairs it was built with."""
    out = run_crosslingual(demo, load_pairs(HELDOUT), k=10)
    assert out["mean_overlap"] >= 4.5 and out["min_overlap"] >= 2 and out["first_in_top5"] >= 0.6, out


def test_figures_are_reported_per_pair(demo: Matcher) -> None:
    pairs = load_pairs()[:2]
    out = run_crosslingual(demo, pairs, k=5)
    assert [p["key"] for p in out["per_pair"]] == [p["key"] for p in pairs] and out["k"] == 5
    assert all(0 <= p["overlap"] <= 5 for p in out["per_pair"])
    same = run_crosslingual(demo, [{"key": "same", "en": pairs[0]["en"], "nl": pairs[0]["en"]}], k=5)
    assert same["per_pair"][0] == {"key": "same", "overlap": 5, "first_rank": 1}  # a question agrees with itself
