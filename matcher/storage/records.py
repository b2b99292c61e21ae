"""Store reads kept for one change number: the organisations and evidence rows that explanations show.

Every write to an organisation or its evidence logs a change (:mod:`matcher.storage.store`), and a query
runs on the snapshot of the store's current change number (:meth:`~matcher.retrieval.upkeep.IndexUpkeep.current`),
so rows kept by a snapshot's :class:`Records` are those its queries would read again; the next change number
has a new snapshot and starts empty. Bounded: the rows used least recently go first. Callers get copies of
the organisations, so nothing they do reaches the kept ones.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

from matcher.domain import Organisation
from matcher.storage.store import Store

LIMIT = 4096  # rows of each kind kept: a demo's or a cluster's organisations, the evidence shown most


class Records:
    """Organisations and evidence rows read through one snapshot, shared by its queries (thread-safe)."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._orgs: OrderedDict[Hashable, Organisation] = OrderedDict()
        self._evidence: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def organisations(self, store: Store, ids: Iterable[int]) -> dict[int, Organisation]:
        """:meth:`Store.get_organisations`, reading only those not kept (an organisation deleted is absent)."""
        ids = list(dict.fromkeys(int(i) for i in ids))
        found = self._kept(self._orgs, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            read = store.get_organisations(missing)
            self._keep(self._orgs, read)
            found.update(read)
        return {i: copy.copy(found[i]) for i in ids if i in found}

    def evidence(self, store: Store, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
        """The evidence rows (with text) of (organisation id, text id) pairs, by pair; a pair without one is absent."""
        pairs = list(dict.fromkeys((int(o), int(t)) for o, t in pairs))
        found = self._kept(self._evidence, pairs)
        missing = [p for p in pairs if p not in found]
        if missing:
            rows = store.evidence_for_texts([t for _, t in missing], [o for o, _ in missing])
            read = {(r["organisation_id"], r["text_id"]): r for r in rows}
            read = {p: read[p] for p in missing if p in read}
            self._keep(self._evidence, read)
            found.update(read)
        return {p: dict(found[p]) for p in pairs if p in found}

    def _kept(self, kept: OrderedDict[Hashable, Any], keys: list[Any]) -> dict[Any, Any]:
        with self._lock:
            out = {k: kept[k] for k in keys if k in kept}
            for k in out:
                kept.move_to_end(k)
        return out

    def _keep(self, kept: OrderedDict[Hashable, Any], rows: dict[Any, Any]) -> None:
        with self._lock:
            kept.update(rows)
            while len(kept) > self.limit:
                kept.popitem(last=False)
