"""Open the store and the matcher from settings: the one place the CLI and the API share."""

from __future__ import annotations

from matcher.config import Settings
from matcher.engine import Matcher
from matcher.ranking.rank import load_default
from matcher.retrieval.embed import default_threads, load_encoder
from matcher.storage.store import Store


def open_store(settings: Settings) -> Store:
    return Store(settings.db_url)


def bound_threads(n: int) -> None:
    """At most ``n`` threads for faiss (OpenMP) and for numpy's BLAS in this process.

    Queries run in parallel threads within a worker; each one's dense search and matrix products
    then use their share of the cores rather than every core each (the encoders are bounded by
    their own settings, :func:`~matcher.retrieval.embed.default_threads`).
    """
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(n)
    threadpool_limits(n, user_api="blas")


def open_matcher(settings: Settings, store: Store | None = None) -> Matcher:
    """A matcher over the configured store, model, index folder and ranker (not yet synced); faiss and
    BLAS bounded to the encoder's thread count (:func:`bound_threads`)."""
    bound_threads(default_threads())
    encoder = load_encoder(settings.model)
    return Matcher(store or open_store(settings), encoder, settings.index_dir, settings.index_kind,
                   ranker=load_default(settings.ranker, encoder.model_id, defer=True),
                   embed_lease=settings.embed_lease, sync_wait=settings.sync_wait)


_SHARED: dict[tuple[str, ...], Matcher] = {}


def shared_matcher(settings: Settings) -> Matcher:
    """One matcher per process and settings: ``matcher serve`` indexes before the server starts,
    and the app in the same process (one worker) then finds it ready instead of loading it again."""
    key = (settings.db_url, settings.model, str(settings.index_dir), settings.index_kind, settings.ranker)
    if key not in _SHARED:
        _SHARED[key] = open_matcher(settings)
    return _SHARED[key]
