"""BM25 on real CORDIS texts: the posting-list path (matches, top) against bm25s scoring every text."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.ingest.cordis import CordisData
from matcher.retrieval import fuse
from matcher.retrieval.lexical import LexicalIndex
from matcher.text import project_text

QUERIES = [
    "clinical trial of a new vaccine against infections",
    "MDR CE marking for a microfluidic point-of-care device",
    "cancer cancer immunotherapy",  # a repeated term counts twice, as in bm25s
    "klinische studie van een nieuw vaccin tegen infecties",  # Dutch: over the lexical bridge
    "hartfalen thuismonitoring with wearable sensors",  # mixed
    "zzzz qqqq",  # no known term
    "patients",  # a term in very many texts: ties straddle the cut
]


@pytest.fixture(scope="module")
def index(health: CordisData) -> LexicalIndex:
    texts = [project_text(p["title"], p["objective"]) for _pid, p in sorted(health.projects.items())]
    assert len(texts) > 300
    return LexicalIndex().fit(np.arange(10, 10 + len(texts)), texts)


@pytest.mark.parametrize("query", QUERIES)
def test_posting_lists_give_bm25s_scores_exactly(index: LexicalIndex, query: str) -> None:
    every = index.scores(query)  # bm25s: a score for every text
    pos, score = index.matches(query)
    assert np.array_equal(pos, np.flatnonzero(every > 0)) and np.array_equal(score, every[pos])
    allowed = np.random.default_rng(0).random(len(index)) < 0.3
    pos, score = index.matches(query, allowed)
    assert np.array_equal(pos, np.flatnonzero((every > 0) & allowed)) and np.array_equal(score, every[pos])


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("k", [1, 10, 100, 100_000])
def test_top_k_equals_the_top_of_every_score(index: LexicalIndex, query: str, k: int) -> None:
    every = index.scores(query)
    reference = fuse.top_k(np.where(every > 0, every, -np.inf), k)  # scoring every text, then the cut
    pos, score = index.top(query, k)
    assert pos.tolist() == reference.tolist() and np.array_equal(score, every[reference])
    if query != "zzzz qqqq":
        assert len(pos) == min(k, int((every > 0).sum())) > 0


def test_a_long_question_is_read_through_its_most_telling_terms(index: LexicalIndex, health: CordisData) -> None:
    """A project's objective as the question: the pipeline's cap (64 terms) keeps the terms of highest idf x
    count, reads far fewer postings than all of its terms hold, and gives bm25s's scores for those terms."""
    query = max((project_text(p["title"], p["objective"]) for p in health.projects.values()), key=len)
    written = index.search_terms(query)
    count: dict[str, float] = {}
    for t, w in written:
        assert w is None  # English: every occurrence once, as bm25s scores it
        count[t] = count.get(t, 0.0) + 1
    assert len(count) > 100
    kept = index.search_terms(query, 64)
    assert len(kept) == 64 and all(w == count[t] for t, w in kept)
    assert [t for t, _w in kept] == [t for t in count if t in dict(kept)]  # in the order first written
    n = len(index)
    telling = {t: np.log1p((n - df * n + 0.5) / (df * n + 0.5)) * count[t]
               for t, df in zip(count, index.document_frequency(list(count)))}
    assert min(telling[t] for t, _w in kept) >= max(v for t, v in telling.items() if t not in dict(kept))
    postings = dict(zip(count, index.document_frequency(list(count)) * n))
    assert sum(postings[t] for t, _w in kept) < 0.5 * sum(postings.values())
    every = index.scores(query, 64)
    pos, score = index.matches(query, terms=64)
    assert np.array_equal(pos, np.flatnonzero(every > 0)) and np.array_equal(score, every[pos])


def test_an_empty_index_matches_nothing() -> None:
    pos, score = LexicalIndex().matches("vaccine")
    assert len(pos) == len(score) == 0
