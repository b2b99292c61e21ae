"""What the tuning scripts share: the three time splits of docs/EVALUATION.md, each prepared once with the
configured model and the shared vector cache (``var/cache/vectors.db``), as ``matcher eval --splits`` does."""

from __future__ import annotations

from collections.abc import Iterator

from matcher.config import get_settings
from matcher.evaluation import evaluate
from matcher.ingest.cordis import CordisData
from matcher.retrieval.embed import load_encoder
from matcher.storage.store import Store

DATES = ("2023-10-01", "2024-01-01", "2024-04-01")


def split_evaluations(catalogue: str) -> Iterator[evaluate.Evaluation]:
    """A prepared evaluation per split date (each date's later projects with at least 3 partners as queries)."""
    settings = get_settings()
    cache = Store(f"sqlite:///{(settings.home / 'cache' / 'vectors.db').resolve()}")
    encoder = load_encoder(settings.model)
    cat = CordisData.read(catalogue)
    for date in DATES:
        yield evaluate.prepare(evaluate.Split.make(cat, None, date), encoder, cache, 3)
