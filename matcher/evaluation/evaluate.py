"""Evaluation on real consortia: can the matcher recover who actually joined a project?

Protocol (see docs/EVALUATION.md): the catalogue holds only projects that started
before the split date (or, with a separate query folder, every catalogue project
that is not a query); the query is a later project's title and objective; the gold
answer is its organisations (any role) that have evidence in the catalogue. Every
method runs on the same queries in the same run; ``matcher`` is the production
pipeline with its default configuration, through the same code path the service uses.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from matcher.domain import Filters, Query
from matcher.engine import Matcher
from matcher.errors import InvalidInput
from matcher.evaluation.vectorcache import cached_query_vectors, seed_vectors
from matcher.ingest.cordis import CordisData, import_cordis
from matcher.ranking.pipeline import Pipeline
from matcher.ranking.rank import Ranker
from matcher.retrieval import fuse
from matcher.retrieval.embed import Encoder
from matcher.retrieval.retrieve import RankingConfig
from matcher.storage.store import Store

DEPTH = 100
METHODS = ("random", "popularity", "tfidf", "bm25", "dense", "hybrid", "fusion", "matcher")
TASKS = ("cold", "seeded")
# the single retrievers and rrf are baselines: text only, no ties to the one asking (seed_weight=0), BM25
# over every term of the question as written (lexical_terms=0); fusion is the whole unlearned pipeline
# (ties included), matcher the production default
METHOD_CONFIGS = {"bm25": RankingConfig(fusion="bm25", seed_weight=0.0, lexical_terms=0),
                  "dense": RankingConfig(fusion="dense", seed_weight=0.0),
                  "hybrid": RankingConfig(fusion="rrf", seed_weight=0.0, lexical_terms=0),
                  "fusion": RankingConfig(rerank=False),
                  "matcher": RankingConfig()}
Step = Callable[[str, int], Callable[[int], None] | None]


@dataclass
class EvalQuery:
    project_id: str
    text: str
    gold: set[int]  # organisation ids in the evaluation store
    coordinator: int | None
    n_partners: int


@dataclass
class Split:
    catalogue: CordisData
    queries: CordisData

    @classmethod
    def make(cls, catalogue: CordisData, queries: CordisData | None, split_date: str | None) -> Split:
        """Time split within one folder, or a separate query folder with its projects removed from the catalogue."""
        if queries is None:
            if not split_date:
                raise InvalidInput("--split-date is needed when queries come from the catalogue folder")
            dt.date.fromisoformat(split_date)
            return cls(catalogue.subset(lambda p: p["start_date"] < split_date),
                       catalogue.subset(lambda p: p["start_date"] >= split_date))
        if split_date:
            queries = queries.subset(lambda p: p["start_date"] >= split_date)
            catalogue = catalogue.subset(lambda p: p["start_date"] < split_date)
        query_ids = set(queries.projects)
        return cls(catalogue.subset(lambda p: p["project_id"] not in query_ids), queries)

    def leaked(self) -> set[str]:
        """Query projects whose own record is in the catalogue (must be empty)."""
        return set(self.queries.projects) & set(self.catalogue.projects)


def make_queries(split: Split, store: Store, min_partners: int) -> list[EvalQuery]:
    """Queries with >= ``min_partners`` coordinator/participant organisations and >= 1 gold organisation."""
    ids = {o.external_id: o.id for o in store.list_organisations(0, 10**9)[0]}
    with_evidence = set(store.evidence_links()[1].tolist())
    by_project: dict[str, list[dict[str, str]]] = {}
    for r in split.queries.participants:
        by_project.setdefault(r["project_id"], []).append(r)
    out = []
    for pid, rows in sorted(by_project.items()):
        partners = {r["organisation_id"] for r in rows if r["role"] in ("coordinator", "participant")}
        if len(partners) < min_partners:
            continue
        gold = {ids[f"pic:{r['organisation_id']}"] for r in rows if ids.get(f"pic:{r['organisation_id']}")}
        gold &= with_evidence
        coord = next((ids.get(f"pic:{r['organisation_id']}") for r in rows if r["role"] == "coordinator"), None)
        p = split.queries.projects[pid]
        if gold:
            out.append(EvalQuery(pid, f"{p['title']}. {p['objective']}", gold, coord, len(partners)))
    return out


@dataclass
class Evaluation:
    """A catalogue loaded into a temporary store, indexed, with cached query vectors."""

    matcher: Matcher
    queries: list[EvalQuery]
    query_vectors: np.ndarray
    kinds: dict[int, str] = field(default_factory=dict)
    evidence_count: dict[int, int] = field(default_factory=dict)
    ranker: Ranker | None = None  # the production default's ranker, when it uses one

    def rankings(self, method: str, task: str, config: RankingConfig | None = None,
                 kinds: Sequence[str] = (), pipeline: Pipeline | None = None) -> list[list[int]]:
        """Top-``DEPTH`` organisation ids per query for ``method``, only of ``kinds`` when given (a role)."""
        seeds = [q.coordinator if task == "seeded" else None for q in self.queries]
        if method in ("random", "popularity", "tfidf"):
            return self._baseline(method, seeds, kinds)
        pipeline = pipeline or self.pipeline(method, config)
        out = []
        for q, qv, seed in zip(self.queries, self.query_vectors, seeds):
            query = Query(q.text, DEPTH, Filters(kinds=list(kinds), exclude_ids=[seed] if seed else []), seed=seed)
            found = self.matcher.rank_with_vector(query, qv, explain=False, pipeline=pipeline)
            out.append([s.organisation.id or 0 for s in found])
        return out

    def pipeline(self, method: str, config: RankingConfig | None = None) -> Pipeline:
        """The pipeline a method stands for: its settings, and the ranker for ``matcher`` only."""
        return Pipeline(config or METHOD_CONFIGS[method], self.ranker if method == "matcher" else None)

    def _baseline(self, method: str, seeds: list[int | None], kinds: Sequence[str] = ()) -> list[list[int]]:
        cat = self.matcher.catalogue_
        assert cat is not None
        counts = np.bincount(cat.link_org, minlength=cat.n_orgs)
        allowed = (counts > 0) & (np.isin(cat.kinds, list(kinds)) if kinds else True)
        with_ev = np.flatnonzero(allowed)
        if method == "random":
            rng = np.random.default_rng(0)
            return [_drop(cat.org_ids[rng.permutation(with_ev)][:DEPTH + 1], s) for s in seeds]
        if method == "popularity":
            order = cat.org_ids[with_ev[np.argsort(-counts[with_ev], kind="stable")]][:DEPTH + 1]
            return [_drop(order, s) for s in seeds]
        return self._tfidf(seeds, allowed, cat.docs_of(allowed) if kinds else None)

    def _tfidf(self, seeds: list[int | None], allowed: np.ndarray, doc_ok: np.ndarray | None) -> list[list[int]]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        cat = self.matcher.catalogue_
        assert cat is not None
        texts = self.matcher.store.texts(cat.doc_ids.tolist())
        vec = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=1)
        docs = vec.fit_transform([texts[int(i)][1] for i in cat.doc_ids])
        sims = (vec.transform([q.text for q in self.queries]) @ docs.T).toarray()
        out = []
        for row, seed in zip(sims, seeds):
            if doc_ok is not None:  # a role: documents of other kinds never take a place
                row[~doc_ok] = -np.inf
            top = np.argsort(-row)[:200]
            scores = np.full(len(row), -np.inf)
            scores[top] = row[top]
            agg, _ = fuse.aggregate(scores, cat.link_doc, cat.link_org, cat.n_orgs, 3)
            agg[~allowed] = -np.inf
            order = np.argsort(-agg, kind="stable")
            order = order[np.isfinite(agg[order])][:DEPTH + 1]
            out.append(_drop(cat.org_ids[order], seed))
        return out

    def score(self, rankings: list[list[int]], task: str) -> dict[str, float]:
        from matcher.evaluation import metrics

        golds = [q.gold - ({q.coordinator} if task == "seeded" and q.coordinator else set()) for q in self.queries]
        keep = [i for i, g in enumerate(golds) if g]
        rk, gd = [rankings[i] for i in keep], [golds[i] for i in keep]
        result = metrics.summarize(rk, gd, ks=(10, 50), ndcg_k=10)
        for group, value in metrics.recall_by_group(rk, gd, self.kinds, 50).items():
            result[f"recall@50/{group}"] = value
        status = {o: ("newcomer" if n == 1 else "incumbent") for o, n in self.evidence_count.items()}
        for group, value in metrics.recall_by_group(rk, gd, status, 50).items():
            result[f"recall@50/{group}"] = value
        result["curve"] = metrics.recall_curve(rk, gd, list(range(1, DEPTH + 1))).tolist()  # type: ignore[assignment]
        return result


def _drop(order: np.ndarray, seed: int | None) -> list[int]:
    return [int(o) for o in order if o != seed][:DEPTH]


def prepare(split: Split, encoder: Encoder, cache: Store, min_partners: int = 3,
            workdir: Path | None = None, progress: Any = None) -> Evaluation:
    """Import the catalogue into a temporary store, embed (through the cache) and index it."""
    if split.leaked():
        raise InvalidInput(f"{len(split.leaked())} query projects are also in the catalogue")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="matcher-eval-"))
    store = Store(f"sqlite:///{workdir / 'eval.db'}")
    import_cordis(store, split.catalogue)
    seed_vectors(cache, store, encoder)
    matcher = Matcher(store, encoder, None)
    matcher.sync(progress)
    ids, vecs = store.text_vectors(encoder.model_id)
    hashes = store.texts(ids.tolist())
    cache.put_vectors(encoder.model_id, [hashes[int(i)][0] for i in ids], vecs)
    queries = make_queries(split, store, min_partners)
    qv = cached_query_vectors(cache, encoder, [q.text for q in queries])
    cat = matcher.catalogue_
    assert cat is not None
    counts = np.bincount(cat.link_org, minlength=cat.n_orgs)
    return Evaluation(matcher, queries, qv, {int(o): str(k) for o, k in zip(cat.org_ids, cat.kinds)},
                      {int(o): int(c) for o, c in zip(cat.org_ids, counts) if c > 0})


def run(ev: Evaluation, task: str, methods: list[str]) -> dict[str, Any]:
    """All ``methods`` on one task: the JSON object ``matcher eval --json`` prints."""
    if task not in TASKS:
        raise InvalidInput(f"task: expected one of {', '.join(TASKS)}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InvalidInput(f"unknown methods: {', '.join(unknown)}; expected: {', '.join(METHODS)}")
    cat = ev.matcher.catalogue_
    assert cat is not None
    n_queries = sum(1 for q in ev.queries if q.gold - ({q.coordinator} if task == "seeded" else set()))
    return {"task": task, "queries": n_queries, "catalogue_organisations": len(ev.evidence_count),
            "model": ev.matcher.encoder.model_id,
            "methods": {m: ev.score(ev.rankings(m, task), task) for m in methods}}
