"""Dense vector index (faiss) over text ids, saved as a self-describing folder.

Exact inner product (``IndexFlatIP``) while small; HNSW past a size threshold
(``kind="auto"``). Ids are ``texts.id``. The folder holds ``index.faiss`` and a
``manifest.json`` (model, dimension, count, database uuid and change number,
library versions); loading refuses a folder that does not match.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from matcher.errors import IndexMismatch, InvalidInput

HNSW_THRESHOLD = 200_000
HNSW_M = 32
FORMAT_VERSION = 1


def choose_kind(kind: str, count: int) -> str:
    """Resolve ``auto`` to ``flat`` below :data:`HNSW_THRESHOLD` vectors and ``hnsw`` above."""
    if kind not in ("auto", "flat", "hnsw"):
        raise InvalidInput(f"index kind {kind!r}: expected auto, flat or hnsw")
    if kind == "auto":
        return "hnsw" if count >= HNSW_THRESHOLD else "flat"
    return kind


class VectorIndex:
    """A faiss index of unit vectors keyed by int64 ids. Inner product = cosine."""

    def __init__(self, dim: int, kind: str = "flat", ef_search: int = 128) -> None:
        self.dim = dim
        self.kind = kind
        self.ef_search = ef_search
        self._index = self._new()

    def _new(self) -> faiss.Index:
        if self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = self.ef_search
            return faiss.IndexIDMap2(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add (or replace) vectors under ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self.dim):
            raise IndexMismatch(f"vectors of shape {vectors.shape} for a {self.dim}-d index of {len(ids)} ids")
        self.remove(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Remove ids (unknown ids are ignored). HNSW cannot delete in place, so it is rebuilt."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0 or len(self) == 0:
            return
        if self.kind == "flat":
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            return
        keep_ids, keep_vecs = self.contents()
        mask = ~np.isin(keep_ids, ids)
        if mask.all():
            return
        self._index = self._new()
        if mask.any():
            self._index.add_with_ids(keep_vecs[mask], keep_ids[mask])

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors) in the index."""
        n = len(self)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vecs = self._index.index.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)
        return ids, vecs

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row; ``allowed`` restricts to those ids. Missing: id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        params = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.ef_search, k))
                      if self.kind == "hnsw" else faiss.SearchParameters(sel=sel))
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    # ---- persistence ------------------------------------------------------------------
    def save(self, folder: Path, manifest: dict[str, Any]) -> None:
        """Write the index and its manifest atomically (temporary sibling, fsync, rename)."""
        folder = Path(folder)
        tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        faiss.write_index(self._index, str(tmp / "index.faiss"))
        full = {**manifest, "dim": self.dim, "kind": self.kind, "count": len(self), "normalised": True,
                "format": FORMAT_VERSION, "faiss": faiss.__version__,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        (tmp / "manifest.json").write_text(json.dumps(full, indent=2))
        for name in ("index.faiss", "manifest.json"):
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        old = folder.with_name(folder.name + f".old-{os.getpid()}")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, expect: dict[str, Any]) -> tuple[VectorIndex, dict[str, Any]]:
        """Load a saved index; raise :class:`IndexMismatch` when it is unreadable or ``expect`` differs."""
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            raw = faiss.read_index(str(folder / "index.faiss"))
        except Exception as exc:  # missing, truncated or garbled files all mean: rebuild
            raise IndexMismatch(f"index folder {folder} is unreadable: {exc}") from exc
        for key, value in expect.items():
            if manifest.get(key) != value:
                raise IndexMismatch(f"index {key} is {manifest.get(key)!r}, expected {value!r}")
        if raw.ntotal != manifest.get("count") or raw.d != manifest.get("dim"):
            raise IndexMismatch("index file does not match its manifest")
        index = cls(int(manifest["dim"]), manifest["kind"])
        index._index = faiss.downcast_index(raw) if not isinstance(raw, faiss.IndexIDMap2) else raw
        if not isinstance(index._index, faiss.IndexIDMap2):
            raise IndexMismatch("index file is not an id-mapped index")
        if index.kind == "hnsw":
            faiss.downcast_index(index._index.index).hnsw.efSearch = index.ef_search
        return index, manifest
