"""A role group's ranking settings changed one at a time, on the mean over three time splits (task ``role``),
beside bm25 and the shipped role pipeline, all in one run (docs/EVALUATION.md, task ``role``).

usage: MATCHER_RANKER=off .venv/bin/python scripts/tune_role_settings.py CATALOGUE GROUP NAME:FIELD=VALUE[,...] ...
e.g.   MATCHER_RANKER=off .venv/bin/python scripts/tune_role_settings.py ../shared/data/cordis_health company \
           dw0.5:dense_weight=0.5 te2:top_evidence=2 decay1:decay=1.0
"""

from __future__ import annotations

import sys
from dataclasses import fields, replace

from tuning import DATES, split_evaluations

from matcher.evaluation.roles_eval import run_roles
from matcher.evaluation.splits import combine
from matcher.ranking.pipeline import Pipeline
from matcher.ranking.roles import KIND_GROUPS, ROLE_CONFIGS
from matcher.retrieval.retrieve import RankingConfig


def parse(spec: str) -> tuple[str, dict[str, object]]:
    """``name:field=value,field=value`` -> (name, {field: value}), each value of its field's type."""
    name, _, body = spec.partition(":")
    types = {f.name: type(getattr(RankingConfig(), f.name)) for f in fields(RankingConfig)}
    changes: dict[str, object] = {}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition("=")
        if key not in types:
            sys.exit(f"unknown setting {key!r}; one of: {', '.join(types)}")
        changes[key] = value.lower() == "true" if types[key] is bool else types[key](value)
    return name, changes


def main(catalogue: str, group: str, specs: list[str]) -> None:
    if group not in KIND_GROUPS:
        sys.exit(f"unknown group {group!r}; one of: {', '.join(KIND_GROUPS)}")
    base = ROLE_CONFIGS.get(group, ROLE_CONFIGS["default"])
    variants = dict(parse(s) for s in specs)
    results = []
    for ev in split_evaluations(catalogue):
        results.append(run_roles(ev, ["bm25", "matcher"], {
            name: Pipeline(replace(base, **changes)) for name, changes in variants.items()}))
    block = combine(list(DATES), results)["groups"][group]
    print(group, "/".join(map(str, block["queries"])))
    for name, e in block["methods"].items():
        x = e.get("x_bm25", {}).get("recall@10")
        print(f"  {name:12s} R@10 {e['recall@10']['mean']:.3f}  R@20 {e['recall@20']['mean']:.3f}  "
              f"nDCG@10 {e['ndcg@10']['mean']:.3f}"
              + (f"  x bm25 {x['mean']:.2f} [{x['min']:.2f}-{x['max']:.2f}] {x['verdict']}" if x else ""))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
