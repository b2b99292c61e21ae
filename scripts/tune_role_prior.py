"""The size stage's weight per role group on the mean over three time splits (task ``role``), beside
popularity, bm25 and the role pipeline without it, all in one run (docs/EVALUATION.md, task ``role``).

usage: MATCHER_RANKER=off .venv/bin/python scripts/tune_role_prior.py CATALOGUE WEIGHT[,...] [OUT.json]
e.g.   MATCHER_RANKER=off .venv/bin/python scripts/tune_role_prior.py ../shared/data/cordis_health 0.2,0.4,1.0
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from tuning import DATES, split_evaluations

from matcher.evaluation.roles_eval import run_roles
from matcher.evaluation.splits import combine
from matcher.ranking.pipeline import Pipeline
from matcher.ranking.roles import ROLE_CONFIGS


def main(catalogue: str, weights_arg: str, out: str | None = None) -> None:
    weights = [float(w) for w in weights_arg.split(",")]
    results = []
    for ev in split_evaluations(catalogue):
        variants = {"no-size": Pipeline(replace(ROLE_CONFIGS["default"], activity_weight=0.0)),
                    "company-no-size": Pipeline(replace(ROLE_CONFIGS["company"], activity_weight=0.0))}
        for w in weights:
            variants[f"size{w}"] = Pipeline(replace(ROLE_CONFIGS["default"], activity_weight=w))
            variants[f"company-size{w}"] = Pipeline(replace(ROLE_CONFIGS["company"], activity_weight=w))
        results.append(run_roles(ev, ["popularity", "bm25", "matcher"], variants))
    res = combine(list(DATES), results)
    for group, block in res["groups"].items():
        print(group, "/".join(map(str, block["queries"])))
        for name, e in block["methods"].items():
            x = e.get("x_bm25", {}).get("recall@10")
            print(f"  {name:18s} R@10 {e['recall@10']['mean']:.3f}  nDCG@10 {e['ndcg@10']['mean']:.3f}"
                  + (f"  x bm25 {x['mean']:.2f} [{x['min']:.2f}-{x['max']:.2f}] {x['verdict']}" if x else ""))
    if out:
        with open(out, "w") as f:
            json.dump(res, f, default=float)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
