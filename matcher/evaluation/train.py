"""Training the ranker on real consortia, from the catalogue's own history, and judging it.

Three periods, never mixed up (``train_from < split_date``):

* projects before ``train_from`` form the training catalogue;
* projects in ``[train_from, split_date)`` are the training queries: positives are their
  real members, negatives the highest-ranked non-members among the candidates;
* projects from ``split_date`` on are the evaluation queries (with the catalogue of
  everything before ``split_date``), never seen in training.

Examples come from both tasks (cold, and seeded with the coordinator given), so one model
serves a plain search and a "who else?" question; the ``seeded`` feature tells them apart.
Feedback recorded by users joins as weighted examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.domain import Filters, Query
from matcher.errors import InvalidInput
from matcher.evaluation import evaluate
from matcher.evaluation.evaluate import Evaluation
from matcher.ingest.cordis import CordisData
from matcher.ranking import features
from matcher.ranking.rank import Ranker
from matcher.ranking.rerank import candidate_rows
from matcher.retrieval.embed import Encoder
from matcher.retrieval.retrieve import retrieve
from matcher.storage.store import Store

FEEDBACK_WEIGHT = {"relevant": (1, 2.0), "contacted": (1, 2.0), "partnered": (1, 3.0), "introduction": (1, 1.0),
                   "not_relevant": (0, 2.0)}


@dataclass
class Examples:
    """Feature rows with labels, weights and the query each row belongs to."""

    x: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    w: list[np.ndarray] = field(default_factory=list)

    def add(self, x: np.ndarray, y: np.ndarray, weight: float | np.ndarray = 1.0) -> None:
        self.x.append(x)
        self.y.append(y.astype(np.int64))
        self.w.append(np.broadcast_to(np.asarray(weight, dtype=np.float64), y.shape).copy())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.x:
            return np.zeros((0, len(features.FEATURES))), np.zeros(0, np.int64), np.zeros(0)
        return np.vstack(self.x), np.concatenate(self.y), np.concatenate(self.w)


def query_examples(ev: Evaluation, tasks: Sequence[str] = ("cold", "seeded")) -> Examples:
    """Candidates of every query of ``ev`` with their features, labelled by the real consortium.

    Queries whose consortium has no member among the candidates carry no signal and are
    skipped. Positives are weighted so that each query counts about as much as any other.
    """
    m, out = ev.matcher, Examples()
    snap, cfg = m.upkeep.current(), m.pipeline.config
    cat = snap.catalogue
    for q, qv in zip(ev.queries, ev.query_vectors):
        for task in tasks:
            seed = q.coordinator if task == "seeded" else None
            if task == "seeded" and seed is None:
                continue
            query = Query(q.text, 100, Filters(exclude_ids=[seed] if seed else []), seed=seed)
            cands, x = candidate_rows(retrieve(snap, query, qv, cfg), snap, cfg.candidates)
            y = np.isin(cat.org_ids[cands], list(q.gold - {seed}))
            if not y.any():
                continue
            out.add(x, y, np.where(y, 1.0 / y.sum(), 1.0 / max((~y).sum(), 1)) * 10.0)
    return out


def feedback_examples(ev: Evaluation, rows: Sequence[dict[str, Any]]) -> Examples:
    """Users' verdicts as weighted examples: the judged organisation among the query's candidates.

    Args:
        rows: ``{"query": text, "external_id": the organisation's key, "verdict": ...}`` (see
            :func:`matcher.storage.keys.feedback_for_training`); organisations not in ``ev``'s catalogue
            are skipped.
    """
    m, out = ev.matcher, Examples()
    snap, cfg = m.upkeep.current(), m.pipeline.config
    cat = snap.catalogue
    known = {o.external_id: o.id for o in m.store.list_organisations(0, 10**9)[0] if o.external_id}
    rows = [r for r in rows if r.get("query") and r.get("verdict") in FEEDBACK_WEIGHT and r.get("external_id") in known]
    if not rows:
        return out
    vecs = m.encoder.encode_queries([r["query"] for r in rows])
    for r, qv in zip(rows, vecs):
        query = Query(r["query"], 100)
        pos = cat.org_index([known[r["external_id"]]])
        if not len(pos):
            continue
        cands, x = candidate_rows(retrieve(snap, query, qv, cfg), snap, cfg.candidates, extra=pos)
        label, weight = FEEDBACK_WEIGHT[r["verdict"]]
        out.add(x[np.flatnonzero(cands == pos[0])], np.asarray([label]), weight)
    return out


def fit_ranker(examples: Examples, model: str = "gbt") -> Ranker:
    """A ranker fitted on ``examples`` (hyper-parameters chosen on the development split)."""
    x, y, w = examples.arrays()
    if not y.any() or y.all():
        raise InvalidInput("training needs both positive and negative examples")
    return Ranker(model=model, max_iter=300, max_leaf_nodes=15, l2=10.0).fit(x, y, sample_weight=w)


def train_and_judge(catalogue: CordisData, split_date: str, train_from: Sequence[str], encoder: Encoder,
                    cache: Store, model: str = "gbt", min_partners: int = 3, progress: Any = None,
                    feedback: Sequence[dict[str, Any]] = ()) -> tuple[Ranker, dict[str, Any]]:
    """Train on the history before ``split_date`` and judge against the unlearned fusion after it.

    Returns the ranker and its card: training periods and counts, the evaluation figures of
    both tasks, and ``use_by_default`` per task: true when the ranker is no worse than the
    fusion on Recall@50 and nDCG@10 in that task and better on their sum. The service uses
    it only for the tasks it won (cold: a query without a seed organisation; seeded: with one).
    """
    before = catalogue.subset(lambda p: p["start_date"] < split_date)
    examples = Examples()
    n_queries = 0
    for start in sorted(train_from):
        if not start < split_date:
            raise InvalidInput(f"--train-from {start} must be before --split-date {split_date}")
        inner = evaluate.prepare(evaluate.Split.make(before, None, start), encoder, cache, min_partners,
                                 progress=progress)
        for part in (query_examples(inner), feedback_examples(inner, feedback)):
            examples.x += part.x
            examples.y += part.y
            examples.w += part.w
        n_queries += len(inner.queries)
    ranker = fit_ranker(examples, model)
    outer = evaluate.prepare(evaluate.Split.make(catalogue, None, split_date), encoder, cache, min_partners,
                             progress=progress)
    outer.ranker = ranker
    figures: dict[str, Any] = {}
    wins = {}
    for task in evaluate.TASKS:
        res = evaluate.run(outer, task, ["fusion", "matcher"])["methods"]
        keys = ("recall@10", "recall@50", "ndcg@10", "mrr", "recall@50/newcomer", "recall@50/incumbent")
        figures[task] = {m: {k: round(float(v[k]), 4) for k in keys if k in v} for m, v in res.items()}
        f, r = res["fusion"], res["matcher"]
        wins[task] = bool(r["recall@50"] >= f["recall@50"] and r["ndcg@10"] >= f["ndcg@10"]
                          and r["recall@50"] + r["ndcg@10"] > f["recall@50"] + f["ndcg@10"])
    x, y, _w = examples.arrays()
    card = {"training": {"catalogue": "projects before each training period start",
                         "periods": [[s, split_date] for s in sorted(train_from)], "queries": n_queries,
                         "examples": int(len(y)), "positives": int(y.sum()), "tasks": ["cold", "seeded"],
                         "feedback_verdicts": len(feedback),
                         "trained_before": split_date, "encoder": encoder.model_id},
            "evaluation": {"split_date": split_date, "queries": len(outer.queries),
                           "figures": figures, "rule": "per task: no worse on recall@50 and ndcg@10, "
                                                       "better on their sum"},
            "use_by_default": wins}
    return ranker, card


def shifted(train_from: Sequence[str], split_date: str, other: str) -> list[str]:
    """``train_from`` moved by whole months as ``other`` is from ``split_date`` (same period lengths).

    >>> shifted(["2022-10-01", "2023-04-01"], "2024-04-01", "2023-10-01")
    ['2022-04-01', '2022-10-01']
    """
    def months(d: str) -> int:
        return int(d[:4]) * 12 + int(d[5:7]) - 1
    delta = months(other) - months(split_date)
    out = []
    for start in train_from:
        m = months(start) + delta
        out.append(f"{m // 12:04d}-{m % 12 + 1:02d}{start[7:]}")
    return out


def judge_over_splits(card: dict[str, Any], earlier: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``card`` (the shipped ranker's, judged at its split) with the judgements of rankers trained the
    same way before ``earlier`` split dates: ``evaluation.splits`` lists every split's figures, and
    ``use_by_default`` is decided by the same rule on the mean over all of them (a setting chosen on
    one split is not a gain)."""
    runs = [*earlier, card]
    splits = [{"split_date": c["evaluation"]["split_date"], "queries": c["evaluation"]["queries"],
               "figures": c["evaluation"]["figures"], "use_by_default": c["use_by_default"]} for c in runs]
    wins = {}
    for task in card["evaluation"]["figures"]:
        mean = {m: {k: sum(sp["figures"][task][m][k] for sp in splits) / len(splits) for k in ("recall@50", "ndcg@10")}
                for m in ("fusion", "matcher")}
        f, r = mean["fusion"], mean["matcher"]
        wins[task] = bool(r["recall@50"] >= f["recall@50"] and r["ndcg@10"] >= f["ndcg@10"]
                          and r["recall@50"] + r["ndcg@10"] > f["recall@50"] + f["ndcg@10"])
    out = {**card, "use_by_default": wins}
    out["evaluation"] = {**card["evaluation"], "splits": splits,
                         "rule": card["evaluation"]["rule"] + ", on the mean over the splits"}
    return out
