"""One evaluation over several time splits: each metric as mean and spread, gains called noise when small.

A setting chosen on one split is not a gain: the pipeline tuned on the development split was 1.08x
BM25 there and 1.02-1.03x on later projects. So ``matcher eval --splits A,B,C`` runs the same task
at each split date and reports, per method and metric, the mean, the lowest and the highest value
over the splits, and the method's value as a multiple of ``bm25``'s in the same split. A gain over
``bm25`` is only called a gain when the mean multiple exceeds 1 by more than the multiple's spread
(highest minus lowest over the splits); a loss likewise; anything in between is noise.

Pure functions over the per-split results (the JSON objects ``matcher eval --json`` prints).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BASELINE = "bm25"


def stats(values: Sequence[float]) -> dict[str, float]:
    """Mean, lowest, highest and spread (highest minus lowest) of per-split values.

    >>> stats([0.2, 0.3, 0.25])
    {'mean': 0.25, 'min': 0.2, 'max': 0.3, 'spread': 0.1}
    """
    vals = [float(v) for v in values]
    lo, hi = min(vals), max(vals)
    return {"mean": round(sum(vals) / len(vals), 6), "min": round(lo, 6), "max": round(hi, 6),
            "spread": round(hi - lo, 6)}


def verdict(ratio: dict[str, float]) -> str:
    """``gain``, ``loss`` or ``noise``: the mean multiple of the baseline, against its spread.

    >>> verdict({"mean": 1.08, "spread": 0.05}), verdict({"mean": 1.03, "spread": 0.05})
    ('gain', 'noise')
    """
    if ratio["mean"] - 1.0 > ratio["spread"]:
        return "gain"
    if 1.0 - ratio["mean"] > ratio["spread"]:
        return "loss"
    return "noise"


def _scalars(m: dict[str, Any]) -> list[str]:
    return [k for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _methods(per_split: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per method and scalar metric: its stats over the splits, and its multiple of the baseline's."""
    names = [n for n in per_split[0] if all(n in r for r in per_split)]
    out: dict[str, Any] = {}
    for name in names:
        keys = [k for k in _scalars(per_split[0][name]) if all(k in r[name] for r in per_split)]
        entry: dict[str, Any] = {k: stats([r[name][k] for r in per_split]) for k in keys}
        if name != BASELINE and all(BASELINE in r for r in per_split):
            ratios: dict[str, Any] = {}
            for k in keys:
                base = [r[BASELINE].get(k, 0.0) for r in per_split]
                if all(b > 0 for b in base):
                    s = stats([r[name][k] / b for r, b in zip(per_split, base)])
                    ratios[k] = {**s, "verdict": verdict(s)}
            entry[f"x_{BASELINE}"] = ratios
        out[name] = entry
    return out


def combine(dates: Sequence[str], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The results of one task at several split dates, as one object (``matcher eval --splits --json``).

    ``{"task", "splits": [date, ...], "queries": [n per split], "catalogue_organisations": [...],
    "model", "methods": {name: {metric: {"mean", "min", "max", "spread"}, "x_bm25": {metric: {...,
    "verdict"}}}}, "per_split": [result, ...]}``; for the role task ``"groups": {group: {"queries":
    [...], "methods": {...}}}`` in place of ``methods``.
    """
    if not results or len(dates) != len(results):
        raise ValueError("one result per split date")
    first = results[0]
    out: dict[str, Any] = {"task": first["task"], "splits": list(dates),
                           "queries": [r["queries"] for r in results],
                           "catalogue_organisations": [r["catalogue_organisations"] for r in results],
                           "model": first.get("model", ""), "baseline": BASELINE}
    if first["task"] == "role":
        groups = [g for g in first["groups"] if all(g in r["groups"] for r in results)]
        out["groups"] = {g: {"queries": [r["groups"][g]["queries"] for r in results],
                             "methods": _methods([r["groups"][g]["methods"] for r in results])} for g in groups}
    else:
        out["methods"] = _methods([r["methods"] for r in results])
    out["per_split"] = list(results)
    return out


def _cell(s: dict[str, Any] | None) -> str:
    if not s:
        return "–"
    return f"{s['mean']:.3f} [{s['min']:.3f}–{s['max']:.3f}]"


def _times(s: dict[str, Any] | None) -> str:
    if not s:
        return "–"
    return f"{s['mean']:.2f}x [{s['min']:.2f}–{s['max']:.2f}] {s['verdict']}"


def rows(result: dict[str, Any], metrics: Sequence[str], versus: Sequence[str]) -> list[list[str]]:
    """Table rows: (group,) method, each metric as mean [range], each ``versus`` metric as a multiple of
    the baseline with its verdict."""
    out = []
    blocks = ([(f"{g} ({'/'.join(map(str, b['queries']))})", b["methods"]) for g, b in result["groups"].items()]
              if result["task"] == "role" else [("", result["methods"])])
    for label, methods in blocks:
        for name, m in methods.items():
            ratio = m.get(f"x_{BASELINE}", {})
            cells = [_cell(m.get(k)) for k in metrics] + [_times(ratio.get(k)) if name != BASELINE else "1"
                                                         for k in versus]
            out.append(([label] if label else []) + [name, *cells])
    return out
