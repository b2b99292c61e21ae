"""Vectors that are already known: a shared cache store, or the demo's shipped file.

Embedding is the slow step, so nothing is embedded twice: document vectors are keyed by
(model id, text hash) and query vectors by (``query:`` + model id, text hash). A
concatenated encoder's vectors are assembled from its parts' vectors, so trying a
combination of models costs no embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from matcher.retrieval.embed import Encoder
from matcher.storage.store import Store, text_hash


class VectorSource(Protocol):
    """Anything that returns stored vectors by model id and text hash (a store, the demo's file)."""

    def get_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]: ...


def seed_vectors(cache: VectorSource, store: Store, encoder: Encoder) -> None:
    """Copy known vectors of the store's texts from ``cache`` (a store or the demo's file) into ``store``.

    A concatenated encoder's vectors are assembled from its parts' cached vectors
    where every part has one, so trying a combination costs no embedding.
    """
    hashes = [h for h, _x in store.texts_without_vectors(encoder.model_id)]
    found = cache.get_vectors(encoder.model_id, hashes)
    parts = getattr(encoder, "parts", None)
    if parts:
        part_found = [cache.get_vectors(p.model_id, hashes) for p in parts]
        for h in hashes:
            if h not in found and all(h in pf for pf in part_found):
                found[h] = np.hstack([pf[h] * s for pf, s in zip(part_found, encoder.scales)])  # type: ignore[attr-defined]
    if found:
        keys = list(found)
        store.put_vectors(encoder.model_id, keys, np.vstack([found[k] for k in keys]))


def cached_query_vectors(cache: Store, encoder: Encoder, texts: list[str]) -> np.ndarray:
    """Query vectors from the cache (keyed as queries), encoding and storing the missing ones."""
    parts = getattr(encoder, "parts", None)
    if parts:  # a concatenation: each part through the cache, scaled as the encoder does
        return np.hstack([cached_query_vectors(cache, p, texts) * s
                          for p, s in zip(parts, encoder.scales)])  # type: ignore[attr-defined]
    model = f"query:{encoder.model_id}"
    hashes = [text_hash(x) for x in texts]
    found = cache.get_vectors(model, hashes)
    todo = [i for i, h in enumerate(hashes) if h not in found]
    if todo:
        vecs = encoder.encode_queries([texts[i] for i in todo])
        cache.put_vectors(model, [hashes[i] for i in todo], vecs)
        found.update({hashes[i]: v for i, v in zip(todo, vecs)})
    return np.vstack([found[h] for h in hashes]) if hashes else np.zeros((0, encoder.dim), np.float32)
