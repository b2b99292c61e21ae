"""The evaluation protocol: no leakage, the right queries and gold, every method on the same queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.errors import InvalidInput
from matcher.evaluation import evaluate
from matcher.ingest.cordis import CordisData
from matcher.retrieval.embed import Encoder
from matcher.storage.store import Store


@pytest.fixture(scope="module")
def tiny_split(health: CordisData) -> evaluate.Split:
    """Catalogue: collaborative projects of early 2022; queries: those of the next months."""
    window = health.subset(lambda p: "2022-01-01" <= p["start_date"] < "2022-08-01" and int(p["n_partners"] or 0) >= 3)
    return evaluate.Split.make(window, None, "2022-06-01")


def test_time_split_never_leaks_a_query_project(tiny_split: evaluate.Split) -> None:
    assert tiny_split.queries.projects and tiny_split.catalogue.projects
    assert not tiny_split.leaked()
    assert max(p["start_date"] for p in tiny_split.catalogue.projects.values()) < "2022-06-01"
    assert min(p["start_date"] for p in tiny_split.queries.projects.values()) >= "2022-06-01"


def test_a_leaking_split_is_refused(tiny_split: evaluate.Split, encoder: Encoder, tmp_path: Path) -> None:
    leaky = evaluate.Split(CordisData({**tiny_split.catalogue.projects, **tiny_split.queries.projects},
                                      tiny_split.catalogue.participants + tiny_split.queries.participants),
                           tiny_split.queries)
    assert leaky.leaked()
    with pytest.raises(InvalidInput, match="also in the catalogue"):
        evaluate.prepare(leaky, encoder, Store(f"sqlite:///{tmp_path / 'c.db'}"), workdir=tmp_path)


def test_separate_query_folder_removes_query_projects_from_the_catalogue(health: CordisData) -> None:
    queries = health.subset(lambda p: p["start_date"] >= "2024-10-01")
    split = evaluate.Split.make(health, queries, None)
    assert not split.leaked() and len(split.catalogue.projects) == len(health.projects) - len(queries.projects)


def test_queries_and_gold_follow_the_protocol(tiny_split: evaluate.Split, encoder: Encoder, tmp_path: Path) -> None:
    cache = Store(f"sqlite:///{tmp_path / 'cache.db'}")
    ev = evaluate.prepare(tiny_split, encoder, cache, min_partners=3, workdir=tmp_path)
    assert ev.queries
    with_evidence = set(ev.evidence_count)
    for q in ev.queries:
        assert q.n_partners >= 3 and q.gold and q.gold <= with_evidence
        p = tiny_split.queries.projects[q.project_id]
        assert q.text.startswith(p["title"])
    # the cache now holds every catalogue and query vector: a second run embeds nothing
    n = len(cache.get_vectors(encoder.model_id, [h for h, _x in ev.matcher.store.texts().values()]))
    assert n == len(ev.matcher.store.texts())


def test_run_refuses_unknown_methods_and_tasks(tiny_split: evaluate.Split, encoder: Encoder, tmp_path: Path) -> None:
    ev = evaluate.prepare(tiny_split, encoder, Store(f"sqlite:///{tmp_path / 'c.db'}"), workdir=tmp_path)
    with pytest.raises(InvalidInput):
        evaluate.run(ev, "warm", ["bm25"])
    with pytest.raises(InvalidInput):
        evaluate.run(ev, "cold", ["magic"])
