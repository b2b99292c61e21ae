"""Evaluation task ``role``: who can do this part? Rank one kind group for a real project's text.

For each query project and each kind group present among its real members, rank with that
group as the role (the service's role pipeline, the group's kinds as filter before the
cut-off); the gold answer is the project's members of that group. Baselines get the same
filter. Reported per group: Recall@10, Recall@20, nDCG@10 and MRR.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matcher.errors import InvalidInput
from matcher.evaluation import metrics
from matcher.evaluation.evaluate import Evaluation
from matcher.ranking.pipeline import Pipeline
from matcher.ranking.roles import KIND_GROUPS, role_pipeline

ROLE_METHODS = ("popularity", "tfidf", "bm25", "dense", "fusion", "matcher")


def run_roles(ev: Evaluation, methods: Sequence[str] = ROLE_METHODS,
              variants: dict[str, Pipeline] | None = None) -> dict[str, Any]:
    """The JSON object ``matcher eval --task role --json`` prints.

    Args:
        ev: a prepared evaluation (catalogue, queries, query vectors).
        methods: baselines and ``matcher`` (the service's role pipeline, with ``ev.ranker``).
        variants: extra named pipelines to compare (for choosing the role settings).
    """
    unknown = [m for m in methods if m not in ROLE_METHODS]
    if unknown:
        raise InvalidInput(f"unknown methods for the role task: {', '.join(unknown)}; "
                           f"expected: {', '.join(ROLE_METHODS)}")
    groups: dict[str, Any] = {}
    asked: set[str] = set()
    for group, kinds in KIND_GROUPS.items():
        golds = [{o for o in q.gold if ev.kinds.get(o) in kinds} for q in ev.queries]
        keep = [i for i, g in enumerate(golds) if g]
        if not keep:
            continue
        asked.update(ev.queries[i].project_id for i in keep)
        runs = {m: _ranked(ev, m, group, kinds) for m in methods}
        runs.update({name: ev.rankings("matcher", "cold", kinds=kinds, pipeline=p)
                     for name, p in (variants or {}).items()})
        groups[group] = {"queries": len(keep), "methods": {
            name: metrics.summarize([r[i] for i in keep], [golds[i] for i in keep], ks=(10, 20), ndcg_k=10)
            for name, r in runs.items()}}
    return {"task": "role", "queries": len(asked), "catalogue_organisations": len(ev.evidence_count),
            "model": ev.matcher.encoder.model_id, "groups": groups}


def _ranked(ev: Evaluation, method: str, group: str, kinds: Sequence[str]) -> list[list[int]]:
    if method == "matcher":
        return ev.rankings(method, "cold", kinds=kinds, pipeline=role_pipeline(group))
    return ev.rankings(method, "cold", kinds=kinds)
