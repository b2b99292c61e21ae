"""The consortium builder measured on real consortia (docs/CONSORTIUM.md).

For every query project of the evaluation (:mod:`matcher.evaluation.evaluate`) whose coordinator is in
the catalogue, build a team of the real consortium's size (coordinator and participants)
with the coordinator fixed, and compare it with the baseline that adds the top of the plain
whole-text ranking. Reported per method: the share of real members recovered (besides the
coordinator), the rule pass rate, and aspect coverage. The real consortia are checked
against the same rules, which tests the rule files themselves.

Instrument by funding scheme (rules as of the project's start date): RIA, IA and joint-undertaking
RIA/IA -> ``horizon-ria`` (RIA and IA share their rules); CSA and JU-CSA -> ``horizon-csa``;
``HORIZON-EIC`` (Pathfinder) -> ``eic-pathfinder``. Projects of other schemes are left out: ERC
grants and MSCA fellowships have no consortium rule, and Global Health EDCTP3 topics have
their own (partners from sub-Saharan Africa), for which there is no instrument file.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from matcher.consortium import (
    COVER,
    Pool,
    Weights,
    make_pool,
    pool_size,
    responsibilities,
    select_team,
    split_aspects,
)
from matcher.domain import Filters, Suggestion
from matcher.engine import Query
from matcher.evaluation.consortium_rules import per_instrument, summarise_instruments
from matcher.evaluation.evaluate import EvalQuery, Evaluation, Split
from matcher.evaluation.vectorcache import cached_query_vectors
from matcher.ingest.cordis import org_kind
from matcher.rules import Instrument, Partner, check_team, is_eligible, load_instrument
from matcher.storage.store import Store

Step = Callable[[str, int], Callable[[int], None] | None]


def instrument_for(funding_scheme: str, topic: str = "") -> str | None:
    """The instrument id whose rules a CORDIS project is checked against, or None (see the module docstring)."""
    scheme = funding_scheme.upper()
    if "EDCTP3" in topic.upper():
        return None
    if scheme in ("HORIZON-CSA", "HORIZON-JU-CSA"):
        return "horizon-csa"
    if scheme == "HORIZON-EIC":
        return "eic-pathfinder"
    if scheme in ("HORIZON-RIA", "HORIZON-IA", "HORIZON-JU-RIA", "HORIZON-JU-IA"):
        return "horizon-ria"
    return None


def real_team(split: Split, project_id: str) -> list[Partner]:
    """The real consortium (coordinator first, then participants) as the rules see it."""
    rows = [r for r in split.queries.participants if r["project_id"] == project_id
            and r["role"] in ("coordinator", "participant")]
    rows.sort(key=lambda r: r["role"] != "coordinator")
    seen: dict[str, Partner] = {}
    for r in rows:
        sme = r.get("sme", "").lower() == "true"
        seen.setdefault(r["organisation_id"], Partner(org_kind(r["name"], r["activity_type"], sme),
                                                      r["country"].upper(), sme, name=r["name"]))
    return list(seen.values())


def _rankings(ev: Evaluation, q: EvalQuery, qvec: np.ndarray, avecs: np.ndarray, k: int) -> list[list[Suggestion]]:
    m = ev.matcher
    return [m.rank_with_vector(Query(q.text, k, Filters()), v, explain=False) for v in [qvec, *avecs]]


def _measure(pool: Pool, instrument: Instrument, team: list[int], q: EvalQuery) -> dict[str, float]:
    others = q.gold - {q.coordinator}
    _owned, uncovered = responsibilities(pool, team)
    best = np.max([pool.candidates[i].aspects for i in team], axis=0) if pool.aspects else np.zeros(0)
    return {"recovered": len(set(team[1:]) & others) / len(others) if others else float("nan"),
            "eligible": float(is_eligible(check_team(instrument, [pool.candidates[i].partner for i in team]))),
            "coverage": 1 - len(uncovered) / max(len(pool.aspects), 1),
            "aspect_score": float(np.minimum(best, 1).mean()) if len(best) else float("nan")}


def run_query(ev: Evaluation, split: Split, q: EvalQuery, qvec: np.ndarray, avecs: np.ndarray,
              aspects: list[str], weights: Weights) -> dict[str, Any]:
    """Builder, baseline and real team for one query project."""
    project = split.queries.projects[q.project_id]
    iid = instrument_for(project.get("funding_scheme", ""), project.get("topic_code", ""))
    assert q.coordinator is not None and iid is not None
    instrument = load_instrument(iid, as_of=dt.date.fromisoformat(project["start_date"][:10]))
    size = q.n_partners
    rankings = _rankings(ev, q, qvec, avecs, pool_size(size))
    pool = make_pool(ev.matcher, aspects, rankings, [q.coordinator])
    built = select_team(pool, instrument, size, [q.coordinator], weights=weights).team
    top = [s.organisation.id or 0 for s in rankings[0] if s.organisation.id != q.coordinator]
    baseline = [q.coordinator, *top[:size - 1]]
    return {"project": q.project_id, "instrument": iid, "size": size,
            "builder": _measure(pool, instrument, built, q), "baseline": _measure(pool, instrument, baseline, q),
            "real_eligible": float(is_eligible(check_team(instrument, real_team(split, q.project_id)))),
            "per_instrument": per_instrument(ev, q, qvec, avecs, aspects, weights)}


def evaluate_consortia(ev: Evaluation, split: Split, cache: Store, weights: Weights | None = None,
                       progress: Step | None = None) -> dict[str, Any]:
    """Run every query project with a catalogued coordinator; the JSON ``matcher eval-consortium`` prints."""
    weights = weights or Weights()
    queries = [(i, q) for i, q in enumerate(ev.queries) if q.coordinator is not None and q.gold - {q.coordinator}
               and instrument_for(split.queries.projects[q.project_id].get("funding_scheme", ""),
                                  split.queries.projects[q.project_id].get("topic_code", ""))]
    skipped = len(ev.queries) - len(queries)
    aspects = [split_aspects(q.text) for _i, q in queries]
    flat = [a for asp in aspects for a in asp]
    vecs = cached_query_vectors(cache, ev.matcher.encoder, flat)
    step = progress("building consortia", len(queries)) if progress else None
    rows, at = [], 0
    for (i, q), asp in zip(queries, aspects):
        rows.append(run_query(ev, split, q, ev.query_vectors[i], vecs[at:at + len(asp)], asp, weights))
        at += len(asp)
        if step:
            step(1)
    return {**summarise(rows, weights), "skipped": skipped}


def summarise(rows: list[dict[str, Any]], weights: Weights) -> dict[str, Any]:
    """Means per method, the paired difference in recovery with a bootstrap 95% interval, and counts."""
    out: dict[str, Any] = {"queries": len(rows), "weights": vars(weights), "cover_threshold": COVER,
                           "instruments": dict(Counter(r["instrument"] for r in rows)),
                           "real_pass_rate": _mean([r["real_eligible"] for r in rows])}
    for method in ("builder", "baseline"):
        out[method] = {k: _mean([r[method][k] for r in rows])
                       for k in ("recovered", "eligible", "coverage", "aspect_score")}
    diff = np.array([r["builder"]["recovered"] - r["baseline"]["recovered"] for r in rows])
    if len(diff):
        rng = np.random.default_rng(0)
        boots = [float(rng.choice(diff, len(diff)).mean()) for _ in range(2000)]
        out["recovered_difference"] = {"mean": float(diff.mean()),
                                       "ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]}
    if rows and "per_instrument" in rows[0]:
        out["by_instrument"] = summarise_instruments([r["per_instrument"] for r in rows])
    out["per_query"] = rows
    return out


def _mean(values: list[float]) -> float:
    vals = [v for v in values if v == v]  # drop NaN
    return float(np.mean(vals)) if vals else float("nan")


def markdown(result: dict[str, Any]) -> str:
    """A small Markdown table of the summary."""
    lines = [f"{result['queries']} query projects ({result.get('skipped', 0)} left out); instruments: "
             + ", ".join(f"{k} {v}" for k, v in sorted(result["instruments"].items())), "",
             "| method | real members recovered | rule pass rate | aspects covered | mean best aspect score |",
             "|---|---:|---:|---:|---:|"]
    for method in ("builder", "baseline"):
        m = result[method]
        lines.append(f"| {method} | {m['recovered']:.3f} | {m['eligible']:.3f} | {m['coverage']:.3f} "
                     f"| {m['aspect_score']:.3f} |")
    lines.append(f"| real consortia | 1.000 | {result['real_pass_rate']:.3f} | | |")
    d = result.get("recovered_difference")
    if d:
        lines += ["", f"Recovery, builder minus baseline: {d['mean']:+.3f} "
                      f"(95% bootstrap interval {d['ci95'][0]:+.3f} .. {d['ci95'][1]:+.3f})."]
    if result.get("by_instrument"):
        lines += ["", "Every instrument on every query project (no member fixed, the instrument's default size):", "",
                  "| instrument | eligible team exists | builder eligible | top-k eligible | builder recovered "
                  "| top-k recovered | builder on topic | top-k on topic |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for iid, m in result["by_instrument"].items():
            lines.append(f"| {iid} | {m['exists']:.3f} | {m['builder_eligible']:.3f} | {m['baseline_eligible']:.3f} "
                         f"| {m['builder_recovered']:.3f} | {m['baseline_recovered']:.3f} "
                         f"| {m['builder_on_topic']:.3f} | {m['baseline_on_topic']:.3f} |")
    return "\n".join(lines) + "\n"
