"""Dense vector index (faiss) over text ids, saved as a self-describing folder.

Exact inner product (``IndexFlatIP``) while small; an inverted-file index (IVF) past a
size threshold (``kind="auto"``). Ids are ``texts.id``.

Why IVF and not HNSW for ``auto`` (measured by ``benchmarks/scale_1m.py``, see
docs/BENCHMARKS.md): on 2 cores an HNSW graph over a million 896-d vectors takes far
too long to build (HNSW cannot delete either, so every removal rebuilt it), while an
IVF index trains in minutes, deletes in place and, with ``nprobe`` scaled up for
filtered queries, keeps recall@10 >= 0.95. Its lists hold float16 vectors (``SQfp16``):
half the memory of float32 and, at a million vectors, about ten times faster to scan
than float32 lists at the same recall. HNSW stays available by name. The folder holds ``index.faiss`` and a
``manifest.json`` (model, dimension, count, database uuid and change number,
library versions); loading refuses a folder that does not match.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from matcher.errors import IndexMismatch, InvalidInput
from matcher.storage.artifacts import atomic_folder

APPROX_THRESHOLD = 200_000  # exact search below this many vectors, IVF above
HNSW_M = 32
IVF_NPROBE = 16  # lists scanned per query: recall@10 0.996 at 1M x 896-d, 1024 lists (benchmarks/scale_1m.py)
IVF_TRAIN_PER_LIST = 40  # training sample: this many vectors per list (k-means is the slow step)
KINDS = ("auto", "flat", "ivf", "hnsw")
FORMAT_VERSION = 1


def choose_kind(kind: str, count: int) -> str:
    """Resolve ``auto`` to ``flat`` below :data:`APPROX_THRESHOLD` vectors and ``ivf`` above."""
    if kind not in KINDS:
        raise InvalidInput(f"index kind {kind!r}: expected {', '.join(KINDS)}")
    if kind == "auto":
        return "ivf" if count >= APPROX_THRESHOLD else "flat"
    return kind


def ivf_lists(count: int) -> int:
    """Number of IVF lists for ``count`` vectors: about sqrt(count), a power of two, 1..4096."""
    return int(min(4096, max(1, 2 ** round(np.log2(max(1.0, np.sqrt(count)))))))


class VectorIndex:
    """A faiss index of unit vectors keyed by int64 ids. Inner product = cosine."""

    def __init__(self, dim: int, kind: str = "flat", ef_search: int = 128, nprobe: int = IVF_NPROBE) -> None:
        self.dim = dim
        self.kind = kind
        self.ef_search = ef_search
        self.nprobe = nprobe
        self._index = self._new()

    def _new(self, count: int = 0) -> faiss.Index:
        """An empty index; an IVF index gets ``ivf_lists(count)`` lists and is trained on first add."""
        if self.kind == "ivf":  # IVF keeps 64-bit ids itself and deletes in place: no id map around it
            made = faiss.index_factory(self.dim, f"IVF{ivf_lists(count)},SQfp16", faiss.METRIC_INNER_PRODUCT)
            return _owned_downcast(made)  # the factory's index owns its quantizer
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
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.kind == "ivf" and not self._index.is_trained:
            self._index = self._new(len(ids))  # sized by the first batch (a rebuild adds everything at once)
            nlist = self._index.nlist
            sample = vectors
            if len(vectors) > nlist * IVF_TRAIN_PER_LIST:
                pick = np.random.default_rng(0).choice(len(vectors), nlist * IVF_TRAIN_PER_LIST, replace=False)
                sample = vectors[np.sort(pick)]
            self._index.train(sample)
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Remove ids (unknown ids are ignored). HNSW cannot delete in place, so it is rebuilt."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0 or len(self) == 0:
            return
        if self.kind in ("flat", "ivf"):
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            return
        keep_ids, keep_vecs = self.contents()
        mask = ~np.isin(keep_ids, ids)
        if mask.all():
            return
        self._index = self._new()
        if mask.any():
            self._index.add_with_ids(keep_vecs[mask], keep_ids[mask])

    def copy(self) -> VectorIndex:
        """An independent copy (a sync changes the copy while queries read the original)."""
        out = VectorIndex(self.dim, self.kind, self.ef_search, self.nprobe)
        out._index = _owned_downcast(faiss.clone_index(self._index))
        return out

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors) in the index."""
        n = len(self)
        if self.kind == "ivf":
            return _ivf_contents(self._index, self.dim)
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
        if self.kind == "flat":
            return self._flat_search(queries, k, allowed)
        scores, ids = self._index.search(queries, k, params=self._params(k, allowed))
        return scores, ids

    def _flat_search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Exact search as one matrix product over faiss's own storage (no copy) and a partial sort.

        faiss's single-query flat search with a deep ``k`` (the matcher asks for ~1000 documents)
        was 6-20x slower than this on the benchmark machine (docs/BENCHMARKS.md); results are the same.
        """
        n = len(self)
        flat = faiss.downcast_index(self._index.index)
        xb = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        scores = queries @ xb.T  # (n_queries, n)
        if allowed is not None:
            scores[:, ~np.isin(ids, np.asarray(allowed, dtype=np.int64))] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(queries), 1))
        part = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-part, axis=1, kind="stable")
        top, part = np.take_along_axis(top, order, axis=1), np.take_along_axis(part, order, axis=1)
        out_ids = np.where(np.isfinite(part), ids[top], -1)
        return np.where(np.isfinite(part), part, np.finfo(np.float32).min).astype(np.float32), out_ids

    def _params(self, k: int, allowed: np.ndarray | None) -> faiss.SearchParameters | None:
        sel = None if allowed is None else _selector(np.asarray(allowed, dtype=np.int64))
        if self.kind == "ivf":
            # a filter keeping a fraction f of the vectors scans 1/f times more lists, so that as many
            # allowed vectors are seen as unfiltered (a very narrow filter becomes an exact scan)
            share = 1.0 if allowed is None else max(len(allowed), 1) / max(len(self), 1)
            nprobe = int(min(self._index.nlist, np.ceil(self.nprobe / min(share, 1.0))))
            return faiss.SearchParametersIVF(sel=sel, nprobe=nprobe) if sel else faiss.SearchParametersIVF(
                nprobe=nprobe)
        if self.kind == "hnsw":
            return (faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.ef_search, k)) if sel
                    else faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k)))
        return faiss.SearchParameters(sel=sel) if sel else None

    # ---- persistence ------------------------------------------------------------------
    def save(self, folder: Path, manifest: dict[str, Any], extra: Callable[[Path], None] | None = None) -> None:
        """Write the index and its manifest atomically (temporary sibling, fsync, rename)."""
        with atomic_folder(Path(folder)) as tmp:
            faiss.write_index(self._index, str(tmp / "index.faiss"))
            full = {**manifest, "dim": self.dim, "kind": self.kind, "count": len(self), "normalised": True,
                    "format": FORMAT_VERSION, "faiss": faiss.__version__,
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat()}
            (tmp / "manifest.json").write_text(json.dumps(full, indent=2))
            if extra is not None:  # derived state saved beside the vectors (the lexical index)
                extra(tmp)

    @classmethod
    def load(cls, folder: Path, expect: dict[str, Any]) -> tuple[VectorIndex, dict[str, Any]]:
        """Load a saved index; raise :class:`IndexMismatch` when it is unreadable or ``expect`` differs."""
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            raw = faiss.read_index(str(folder / "index.faiss"))
        except Exception as exc:  # missing, truncated or garbled files all mean: rebuild
            raise IndexMismatch(f"index folder {folder} is unreadable: {exc}") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexMismatch(f"index folder format {manifest.get('format')!r}, this version reads {FORMAT_VERSION}")
        for key, value in expect.items():
            if manifest.get(key) != value:
                raise IndexMismatch(f"index {key} is {manifest.get(key)!r}, expected {value!r}")
        if raw.ntotal != manifest.get("count") or raw.d != manifest.get("dim"):
            raise IndexMismatch("index file does not match its manifest")
        index = cls(int(manifest["dim"]), manifest["kind"])
        index._index = _owned_downcast(raw) if not isinstance(raw, faiss.IndexIDMap2) else raw
        if index.kind == "ivf":
            if not isinstance(index._index, faiss.IndexIVFScalarQuantizer):
                raise IndexMismatch("index file is not an IVF index")
            return index, manifest
        if not isinstance(index._index, faiss.IndexIDMap2):
            raise IndexMismatch("index file is not an id-mapped index")
        if index.kind == "hnsw":
            faiss.downcast_index(index._index.index).hnsw.efSearch = index.ef_search
        return index, manifest


def _selector(allowed: np.ndarray) -> faiss.IDSelector:
    """A faiss selector of the ids ``allowed``: a bitmap over the id range when that is small (a
    filter keeping a million ids builds it in milliseconds, where a hash set took a tenth of a
    second), else a batch (hash set). Both select the same ids."""
    top = int(allowed.max(initial=-1)) + 1
    if len(allowed) < 4096 or allowed.min(initial=0) < 0 or top > 64 * len(allowed):
        return faiss.IDSelectorBatch(allowed)
    bits = np.zeros(top, dtype=bool)
    bits[allowed] = True
    packed = np.packbits(bits, bitorder="little")  # bit i of byte i // 8 is id i
    sel = faiss.IDSelectorBitmap(top, faiss.swig_ptr(packed))
    sel.referenced_bits = packed  # the selector reads this buffer: keep it alive with it
    return sel


def _owned_downcast(index: faiss.Index) -> faiss.Index:
    """The concrete-class wrapper of ``index``, made the owner of the C++ object (else it dangles)."""
    concrete = faiss.downcast_index(index)
    if concrete is not index:
        index.this.disown()
        concrete.this.own(True)
    return concrete


def _ivf_contents(index: faiss.IndexIVFScalarQuantizer, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """All (ids, vectors) of an IVF index with float16 lists, read list by list (codes are the float16 rows)."""
    inv = index.invlists
    ids, vecs = [], []
    for lst in range(index.nlist):
        size = inv.list_size(lst)
        if size:
            ids.append(faiss.rev_swig_ptr(inv.get_ids(lst), size).copy())
            codes = faiss.rev_swig_ptr(inv.get_codes(lst), size * index.code_size).copy()
            rows = codes.view(np.float16).reshape(size, dim).astype(np.float32)
            if index.by_residual:  # the lists hold each vector minus its list's centroid
                rows += index.quantizer.reconstruct(lst)
            vecs.append(rows)
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    return np.concatenate(ids).astype(np.int64), np.vstack(vecs)
