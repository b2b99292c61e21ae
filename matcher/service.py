"""Open the store and the matcher from settings: the one place the CLI and the API share."""

from __future__ import annotations

from matcher.config import Settings
from matcher.engine import Matcher
from matcher.ranking.rank import load_default
from matcher.retrieval.embed import load_encoder
from matcher.storage.store import Store


def open_store(settings: Settings) -> Store:
    return Store(settings.db_url)


def open_matcher(settings: Settings, store: Store | None = None) -> Matcher:
    """A matcher over the configured store, model, index folder and ranker (not yet synced)."""
    encoder = load_encoder(settings.model)
    return Matcher(store or open_store(settings), encoder, settings.index_dir, settings.index_kind,
                   ranker=load_default(settings.ranker, encoder.model_id, defer=True))


_SHARED: dict[tuple[str, ...], Matcher] = {}


def shared_matcher(settings: Settings) -> Matcher:
    """One matcher per process and settings: ``matcher serve`` indexes before the server starts,
    and the app in the same process (one worker) then finds it ready instead of loading it again."""
    key = (settings.db_url, settings.model, str(settings.index_dir), settings.index_kind, settings.ranker)
    if key not in _SHARED:
        _SHARED[key] = open_matcher(settings)
    return _SHARED[key]
