"""The ties stage's settings on the mean over three time splits (seeded task), beside bm25 and fusion
without ties, all in one run (docs/EVALUATION.md, "Ties to the one asking").

usage: MATCHER_RANKER=off .venv/bin/python scripts/tune_ties.py CATALOGUE WEIGHT:WITHIN[,...] [OUT.json]
e.g.   MATCHER_RANKER=off .venv/bin/python scripts/tune_ties.py ../shared/data/cordis_health 0.5:0,0.5:50,1.0:50
"""

from __future__ import annotations

import json
import sys

from tuning import DATES, split_evaluations

from matcher.evaluation.splits import combine
from matcher.ranking.pipeline import Pipeline
from matcher.retrieval.retrieve import RankingConfig

TASK = "seeded"


def main(catalogue: str, settings_arg: str, out: str | None = None) -> None:
    variants = [(float(w), int(n)) for w, n in (x.split(":") for x in settings_arg.split(","))]
    results = []
    for ev in split_evaluations(catalogue):
        methods = {"bm25": ev.score(ev.rankings("bm25", TASK), TASK)}
        for w, within in [(0.0, 0), *variants]:
            p = Pipeline(RankingConfig(rerank=False, seed_weight=w, seed_within=within))
            methods[f"ties{w}/{within}"] = ev.score(ev.rankings("fusion", TASK, pipeline=p), TASK)
        n = sum(1 for q in ev.queries if q.gold - {q.coordinator})
        results.append({"task": TASK, "queries": n, "catalogue_organisations": len(ev.evidence_count),
                        "model": ev.matcher.encoder.model_id, "methods": methods})
    res = combine(list(DATES), results)
    for name, e in res["methods"].items():
        x = e.get("x_bm25", {})
        line = f"{name:12s} R@50 {e['recall@50']['mean']:.3f} [{e['recall@50']['min']:.3f}-{e['recall@50']['max']:.3f}]"
        line += f"  nDCG@10 {e['ndcg@10']['mean']:.3f}  MRR {e['mrr']['mean']:.3f}"
        if x:
            line += (f"  R@50 x bm25 {x['recall@50']['mean']:.2f} {x['recall@50']['verdict']}"
                     f"  nDCG@10 x bm25 {x['ndcg@10']['mean']:.2f} {x['ndcg@10']['verdict']}")
        line += (f"  newcomer {e.get('recall@50/newcomer', {}).get('mean', 0):.3f}"
                 f"  sme {e.get('recall@50/sme', {}).get('mean', 0):.3f}")
        print(line)
    if out:
        with open(out, "w") as f:
            json.dump(res, f, default=float)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
