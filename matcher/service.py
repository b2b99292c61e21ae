"""Open the store and the matcher from settings: the one place the CLI and the API share."""

from __future__ import annotations

from matcher.config import Settings
from matcher.embed import load_encoder
from matcher.engine import Matcher
from matcher.store import Store


def open_store(settings: Settings) -> Store:
    return Store(settings.db_url)


def open_matcher(settings: Settings, store: Store | None = None) -> Matcher:
    """A matcher over the configured store, model and index folder (not yet synced)."""
    return Matcher(store or open_store(settings), load_encoder(settings.model), settings.index_dir,
                   settings.index_kind)
