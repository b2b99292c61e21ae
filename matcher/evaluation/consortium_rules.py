"""Every instrument on every real query project: eligible teams, members recovered, evidence on topic.

For a query project and an instrument, the builder proposes a team of the instrument's default
size from the project's text alone (nobody fixed), and the baseline takes the top of the plain
whole-text ranking (its first organisation leads). Per (project, instrument):

- ``exists``: whether the whole catalogue holds an eligible team at all (the solver over every
  catalogued organisation, a pure feasibility problem; an eligible team found by either method is
  proof too); the goal is a builder team that is eligible whenever one exists;
- ``eligible``: whether the proposed team passes the rules;
- ``recovered``: real members in the team / min(real members, team size);
- ``on topic``: the members whose best evidence (the one a user is shown first) has a dense cosine
  with the project text of at least the median such cosine of the real members over the run, i.e.
  "as close to the topic as the evidence of a typical real member".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matcher.consortium import Candidate, Pool, Weights, make_pool, pool_size, rule_filters, select_team
from matcher.consortium.pool import catalogue_of, find_service_firms
from matcher.consortium.solve import Problem, solve
from matcher.engine import Matcher, Query
from matcher.evaluation.evaluate import EvalQuery, Evaluation
from matcher.rules import INSTRUMENT_IDS, Instrument, Partner, check_team, is_eligible, load_instrument

_EXISTS: dict[tuple[int, str], bool] = {}


def exists(matcher: Matcher, instrument: Instrument) -> bool:
    """Whether any team of the instrument's default size from the whole catalogue meets its rules."""
    cat = catalogue_of(matcher)
    key = (id(cat), instrument.id)
    if key not in _EXISTS:
        ids = [int(i) for i in cat.org_ids]
        service = find_service_firms(matcher, ids, np.arange(len(ids)))
        pool = Pool([], {oid: Candidate(Partner(str(cat.kinds[p]), str(cat.countries[p]), bool(cat.sme[p]), id=oid,
                                                service=bool(service[p])), 0.0, np.zeros(0))
                         for p, oid in enumerate(ids)})
        feasibility = Weights(relevance=0.0, coverage=0.0, kind=0.0, country=0.0, rules=0.0)  # any team will do
        _EXISTS[key] = solve(Problem(pool, instrument.default_size, instrument.rules, weights=feasibility)) is not None
    return _EXISTS[key]


def best_cosines(matcher: Matcher, qvec: np.ndarray, org_ids: Sequence[int]) -> list[float]:
    """For each organisation, the highest dense cosine of its evidence with the query vector."""
    cat = catalogue_of(matcher)
    pos = cat.org_index(list(org_ids))
    docs = [cat.doc_ids[cat.org_docs(int(p))] for p in pos]
    text_ids, vecs = matcher.store.text_vectors(matcher.encoder.model_id, sorted({int(d) for ds in docs for d in ds}))
    sims = dict(zip(text_ids.tolist(), (vecs @ qvec).tolist())) if len(vecs) else {}
    return [max([sims.get(int(d), -1.0) for d in ds], default=-1.0) for ds in docs]


def per_instrument(ev: Evaluation, q: EvalQuery, qvec: np.ndarray, avecs: np.ndarray, aspects: list[str],
                   weights: Weights) -> dict[str, Any]:
    """Builder and top-k teams of every instrument for one query project, with the cosines of the
    members' best evidence and of the real members' (for the on-topic threshold)."""
    m = ev.matcher
    out: dict[str, Any] = {"gold_cos": best_cosines(m, qvec, sorted(q.gold))}
    for iid in INSTRUMENT_IDS:
        ins = load_instrument(iid)
        k = pool_size(ins.default_size)
        ranks = [m.rank_with_vector(Query(q.text, k), v, explain=False) for v in [qvec, *avecs]]
        extra = [m.rank_with_vector(Query(q.text, k, f), qvec, explain=False) for f in rule_filters(ins)]
        pool = make_pool(m, aspects, ranks, [], extra)
        teams = {"builder": select_team(pool, ins, ins.default_size, weights=weights).team,
                 "baseline": [s.organisation.id or 0 for s in ranks[0][:ins.default_size]]}
        row: dict[str, Any] = {"exists": float(exists(m, ins))}
        for method, team in teams.items():
            gold_in = len(set(team) & q.gold)
            row[method] = {"eligible": float(is_eligible(check_team(ins, [pool.candidates[i].partner for i in team]))),
                           "recovered": gold_in / max(min(len(q.gold), len(team)), 1),
                           "cos": best_cosines(m, qvec, team)}
        out[iid] = row
    return out


def summarise_instruments(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per instrument: the share of projects where an eligible team exists, and per method the share of
    eligible teams among those, mean recovery and the share of members on topic."""
    gold = [c for r in rows for c in r["gold_cos"] if c > -1]
    threshold = float(np.median(gold)) if gold else 0.0
    out: dict[str, dict[str, float]] = {}
    for iid in INSTRUMENT_IDS:
        runs = [r[iid] for r in rows if iid in r]
        if not runs:
            continue
        for x in runs:  # an eligible team found is proof that one exists (the whole-catalogue solve may time out)
            x["exists"] = float(bool(x["exists"]) or x["builder"]["eligible"] or x["baseline"]["eligible"])
        have = [x for x in runs if x["exists"]]
        res = {"exists": float(np.mean([x["exists"] for x in runs])), "on_topic_threshold": threshold}
        for method in ("builder", "baseline"):
            res[f"{method}_eligible"] = float(np.mean([x[method]["eligible"] for x in have])) if have else float("nan")
            res[f"{method}_recovered"] = float(np.mean([x[method]["recovered"] for x in runs]))
            cos = [c for x in runs for c in x[method]["cos"]]
            res[f"{method}_on_topic"] = float(np.mean([c >= threshold for c in cos])) if cos else float("nan")
        out[iid] = res
    return out
