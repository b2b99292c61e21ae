"""Evaluation reports: a console table, a Markdown file, a JSON file and a Recall@k plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from matcher.evaluation import splits

MAIN = ("recall@10", "recall@50", "ndcg@10", "mrr")
ROLE = ("recall@10", "recall@20", "ndcg@10", "mrr")


def _groups(result: dict[str, Any]) -> list[str]:
    keys: set[str] = set()
    for m in result["methods"].values():
        keys.update(k for k in m if k.startswith("recall@50/"))
    return sorted(keys)


def _split_columns(result: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Metrics shown as mean [range], and those shown as a multiple of bm25, for a several-split result."""
    return (ROLE[:3], ("recall@10",)) if result["task"] == "role" else (MAIN, ("recall@50", "ndcg@10"))


def _split_title(result: dict[str, Any]) -> str:
    return (f"task {result['task']} over {len(result['splits'])} splits ({', '.join(result['splits'])}): "
            f"{'/'.join(map(str, result['queries']))} queries; mean [lowest–highest]; multiples of bm25 "
            f"in the same split, a gain smaller than its spread called noise")


def splits_table(result: dict[str, Any]) -> Table:
    metrics, versus = _split_columns(result)
    head = (["group"] if result["task"] == "role" else []) + ["method", *metrics, *[f"{k} x bm25" for k in versus]]
    t = Table(*head, title=_split_title(result))
    for row in splits.rows(result, metrics, versus):
        t.add_row(*row)
    return t


def splits_markdown(result: dict[str, Any]) -> str:
    metrics, versus = _split_columns(result)
    head = (["group"] if result["task"] == "role" else []) + ["method", *metrics, *[f"{k} x bm25" for k in versus]]
    lines = [_split_title(result) + ".", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in splits.rows(result, metrics, versus)]
    return "\n".join(lines) + "\n"


def table(result: dict[str, Any]) -> Table:
    """The methods side by side, main metrics first, then Recall@50 by group (the role task: by kind group)."""
    if "splits" in result:
        return splits_table(result)
    if result["task"] == "role":
        return _role_table(result)
    groups = _groups(result)
    t = Table("method", *MAIN, *[g.replace("recall@50/", "R@50 ") for g in groups],
              title=f"task {result['task']}: {result['queries']} queries, "
                    f"{result['catalogue_organisations']} organisations")
    for name, m in result["methods"].items():
        t.add_row(name, *[f"{m.get(k, float('nan')):.3f}" for k in (*MAIN, *groups)])
    return t


def _role_table(result: dict[str, Any]) -> Table:
    t = Table("group", "method", *ROLE, title=f"task role: {result['queries']} queries, "
                                              f"{result['catalogue_organisations']} organisations")
    for group, g in result["groups"].items():
        for name, m in g["methods"].items():
            t.add_row(f"{group} ({g['queries']})", name, *[f"{m.get(k, float('nan')):.3f}" for k in ROLE])
    return t


def _role_markdown(result: dict[str, Any]) -> str:
    lines = [f"Task `role`: {result['queries']} queries, {result['catalogue_organisations']} catalogue "
             f"organisations, model `{result.get('model', '')}`.", "",
             "| group (queries) | method | " + " | ".join(ROLE) + " |", "|---|---|" + "---:|" * len(ROLE)]
    for group, g in result["groups"].items():
        for name, m in g["methods"].items():
            lines.append(f"| {group} ({g['queries']}) | {name} | "
                         + " | ".join(f"{m.get(k, float('nan')):.3f}" for k in ROLE) + " |")
    return "\n".join(lines) + "\n"


def markdown(result: dict[str, Any]) -> str:
    if result["task"] == "role":
        return _role_markdown(result)
    groups = _groups(result)
    cols = [*MAIN, *groups]
    lines = [f"Task `{result['task']}`: {result['queries']} queries, {result['catalogue_organisations']} "
             f"catalogue organisations, model `{result.get('model', '')}`.", "",
             "| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, m in result["methods"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(k, float('nan')):.3f}" for k in cols) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, m in result["methods"].items():
        curve = m.get("curve") or []
        ax.plot(range(1, len(curve) + 1), curve, label=name, linewidth=2.2 if name == "matcher" else 1.2)
    ax.set_xlabel("k")
    ax.set_ylabel("Recall@k")
    ax.set_title(f"Recall@k, task {result['task']} ({result['queries']} queries)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(result: dict[str, Any], folder: Path) -> None:
    """``eval-<task>.json``, ``eval-<task>.md`` and ``recall-<task>.png`` in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    task = result["task"]
    if "splits" in result:  # several splits: eval-<task>-splits.json and .md, no curve
        (folder / f"eval-{task}-splits.json").write_text(json.dumps(result, indent=1, default=float))
        (folder / f"eval-{task}-splits.md").write_text(splits_markdown(result))
        return
    (folder / f"eval-{task}.json").write_text(json.dumps(result, indent=1, default=float))
    (folder / f"eval-{task}.md").write_text(markdown(result))
    if task != "role":  # the role task has no Recall@k curve (several groups, four metrics each)
        plot(result, folder / f"recall-{task}.png")
