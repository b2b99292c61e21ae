"""Open the store and the matcher from settings: the one place the CLI and the API share."""

from __future__ import annotations

from matcher.config import Settings
from matcher.embed import load_encoder
from matcher.engine import Matcher
from matcher.rank import load_default
from matcher.store import Store


def open_store(settings: Settings) -> Store:
    return Store(settings.db_url)


def open_matcher(settings: Settings, store: Store | None = None) -> Matcher:
    """A matcher over the configured store, model, index folder and ranker (not yet synced)."""
    encoder = load_encoder(settings.model)
    m = Matcher(store or open_store(settings), encoder, settings.index_dir, settings.index_kind)
    m.ranker_ = load_default(settings.ranker, encoder.model_id)
    return m
