"""Bulk embedding: every stored text without a vector for the encoder's model, shared by all workers.

Each worker (a host's index sync, or a ``matcher embed`` process) claims a batch, embeds it, stores
the vectors and claims the next (:class:`~matcher.storage.claims.EmbedClaims`). On PostgreSQL the
batches of N workers are disjoint, so a large import is embedded once, N times as fast; on SQLite the
one process embeds everything, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from matcher.retrieval.embed import Encoder
from matcher.storage.claims import DEFAULT_LEASE, EmbedClaims
from matcher.storage.store import Store

BATCH = 256


@dataclass(frozen=True)
class EmbedReport:
    """What one worker did: ``embedded`` texts by this worker, ``remaining`` texts without a vector when it
    stopped (all workers together; claimed by others, or left after failing too often), the ``model`` id."""

    embedded: int
    remaining: int
    model: str

    def to_dict(self) -> dict[str, int | str]:
        return {"embedded": self.embedded, "remaining": self.remaining, "model": self.model}


def embed_pending(store: Store, encoder: Encoder, *, batch: int = BATCH, lease: float = DEFAULT_LEASE,
                  wait: bool = True, worker: str | None = None,
                  on_batch: Callable[[int], None] | None = None) -> EmbedReport:
    """Embed and store texts without a vector for ``encoder`` until nothing is left to claim.

    Args:
        store: the store (PostgreSQL: shared with the other workers; SQLite: this process alone).
        encoder: the model; its ``model_id`` names the vectors.
        batch: texts per claim (and per stored transaction), >= 1.
        lease: seconds a claimed batch stays with this worker unless renewed (it is, after each of the encoder's
            internal batches); a dead worker's batch is taken again when its lease runs out.
        wait: when nothing is free but other workers hold claims, wait for them to finish (or for their
            leases to run out, then take their batches), so that on return every text has a vector;
            without it, stop as soon as nothing is free.
        worker: this worker's name in the claims (default: host, pid and a random part).
        on_batch: called with the number of texts after each stored batch (progress bars).

    Returns:
        The :class:`EmbedReport` of this worker.
    """
    claims = EmbedClaims(store, encoder.model_id, worker, lease)
    poll = min(1.0, lease / 4)
    embedded = 0
    while True:
        todo = claims.claim(batch)
        if not todo:
            if wait and claims.unfinished():
                time.sleep(poll)
                continue
            break
        hashes = [h for h, _x in todo]
        vectors = encoder.encode_documents([x for _h, x in todo], progress=lambda _n: claims.renew())
        claims.complete(hashes, vectors)
        embedded += len(todo)
        if on_batch is not None:
            on_batch(len(todo))
    return EmbedReport(embedded, claims.progress().remaining, encoder.model_id)
