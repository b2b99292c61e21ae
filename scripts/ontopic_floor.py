"""Where real consortium members' best evidence sits in meaning, to check the on-topic floor on real data.

For each query project of three time splits and each real member with evidence, the dense similarity of
its best evidence piece to the project text; the share below the floor (``matcher.queries.ON_TOPIC_CONTEXT``)
and percentiles, per kind group (docs/EVALUATION.md, "The on-topic test").

usage: MATCHER_RANKER=off .venv/bin/python scripts/ontopic_floor.py [CATALOGUE]
"""

from __future__ import annotations

import sys

import numpy as np
from tuning import DATES, split_evaluations

from matcher.queries import ON_TOPIC_CONTEXT
from matcher.ranking.roles import GROUP_OF_KIND

for date, ev in zip(DATES, split_evaluations(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cordis_health")):
    c = ev.matcher.catalogue_
    ids, vecs = ev.matcher.store.text_vectors(ev.matcher.encoder.model_id)
    pos = np.searchsorted(ids, c.doc_ids)
    dv = vecs[pos]
    org_pos = {int(o): i for i, o in enumerate(c.org_ids)}
    sims = {}
    for q, qv in zip(ev.queries, ev.query_vectors):
        ds = dv @ qv
        for o in q.gold:
            p = org_pos.get(o)
            if p is None:
                continue
            docs = c.org_docs(p)
            if len(docs):
                sims.setdefault(GROUP_OF_KIND.get(ev.kinds.get(o, ""), "other"), []).append(float(ds[docs].max()))
    allv = np.concatenate([np.array(v) for v in sims.values()])
    line = (f"{date} all n={len(allv)} below {ON_TOPIC_CONTEXT}: {np.mean(allv < ON_TOPIC_CONTEXT):.3f}"
            f" p10 {np.percentile(allv, 10):.3f} p25 {np.percentile(allv, 25):.3f} p50 {np.median(allv):.3f}")
    for g, v in sorted(sims.items()):
        v = np.array(v)
        line += (f" | {g} n={len(v)} below {np.mean(v < ON_TOPIC_CONTEXT):.2f}"
                 f" p10 {np.percentile(v, 10):.2f} p50 {np.median(v):.2f}")
    print(line, flush=True)
