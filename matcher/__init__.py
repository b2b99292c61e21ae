"""matcher: partner matching for MedTech ecosystems.

The public API, imported on first use (so ``import matcher.errors`` stays light)::

    from matcher import Matcher, Query, Store, Settings, load_encoder

    store = Store("sqlite:///var/matcher.db")
    m = Matcher(store, load_encoder("minilm-int8+use-m3"), index_dir=Path("var/index"))
    m.sync()
    for s in m.search(Query("needle-free injection for children", k=5)):
        print(s.rank, s.organisation.name, s.explanation["evidence"][0]["sentence"])

Layout: ``retrieval/`` (embed, vector and lexical indexes, fusion, catalogue arrays,
collaboration graph, snapshots and their upkeep, the retrieve stage), ``ranking/``
(features, the learned ranker, rerank, feedback, explain, the pipeline), ``storage/``
(store, schema, migrations, keys, sessions, shortlists), ``evaluation/`` (evaluation on
real consortia, metrics, reports, ranker training), ``ingest/`` (CORDIS, member lists);
at the top: domain, config, errors, messages, access, queries, consortium and rules, engine, cli.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Matcher": "matcher.engine", "MAX_K": "matcher.engine",
    "Query": "matcher.domain", "Filters": "matcher.domain", "Organisation": "matcher.domain",
    "Challenge": "matcher.domain", "Project": "matcher.domain", "Suggestion": "matcher.domain",
    "Store": "matcher.storage.store", "Settings": "matcher.config", "get_settings": "matcher.config",
    "load_encoder": "matcher.retrieval.embed", "Encoder": "matcher.retrieval.embed",
    "RankingConfig": "matcher.retrieval.retrieve", "Pipeline": "matcher.ranking.pipeline",
    "Ranker": "matcher.ranking.rank", "MatcherError": "matcher.errors", "InvalidInput": "matcher.errors",
    "NotFound": "matcher.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'matcher' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
