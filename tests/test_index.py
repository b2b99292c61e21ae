"""The faiss index: exact and HNSW, add/replace/remove, filtered search, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.errors import IndexMismatch, InvalidInput
from matcher.retrieval.embed import normalise
from matcher.retrieval.index import VectorIndex, choose_kind


def _data(n: int = 300, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return np.arange(100, 100 + n, dtype=np.int64), normalise(rng.normal(size=(n, dim)))


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_search_add_remove_and_filter(kind: str) -> None:
    ids, vecs = _data()
    index = VectorIndex(16, kind)
    index.add(ids, vecs)
    scores, got = index.search(vecs[:5], 1)
    assert got[:, 0].tolist() == ids[:5].tolist()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-3)  # IVF lists hold float16
    index.remove(ids[:1])
    assert len(index) == len(ids) - 1
    assert index.search(vecs[:1], 1)[1][0, 0] != ids[0]
    allowed = ids[200:210]
    _s, got = index.search(vecs[:3], 5, allowed=allowed)
    assert set(got.ravel()) <= set(allowed.tolist())
    index.add(ids[5:6], vecs[7:8])  # replacing a vector under the same id keeps one entry
    assert len(index) == len(ids) - 1


def test_save_load_round_trip_and_refusals(tmp_path: Path) -> None:
    ids, vecs = _data()
    index = VectorIndex(16, "flat")
    index.add(ids, vecs)
    index.save(tmp_path / "ix", {"model_id": "m", "db_uuid": "u", "change_no": 3})
    loaded, manifest = VectorIndex.load(tmp_path / "ix", {"model_id": "m", "dim": 16})
    assert manifest["count"] == len(ids) and manifest["normalised"] is True
    assert np.array_equal(loaded.search(vecs[:3], 3)[1], index.search(vecs[:3], 3)[1])
    with pytest.raises(IndexMismatch):
        VectorIndex.load(tmp_path / "ix", {"model_id": "other"})
    with pytest.raises(IndexMismatch):
        VectorIndex.load(tmp_path / "missing", {})
    assert not list(tmp_path.glob("ix.tmp-*")), "no temporary folder is left behind"


def test_choose_kind() -> None:
    assert choose_kind("auto", 10) == "flat"
    assert choose_kind("auto", 10_000_000) == "ivf"
    assert choose_kind("hnsw", 10) == "hnsw"
    with pytest.raises(InvalidInput):
        choose_kind("annoy", 1)


def test_ivf_round_trip_contents_and_filtered_recall(tmp_path: Path) -> None:
    ids, vecs = _data(2000)
    index = VectorIndex(16, "ivf", nprobe=2)
    index.add(ids, vecs)
    got_ids, got_vecs = index.contents()
    order = np.argsort(got_ids)
    assert np.array_equal(got_ids[order], ids) and np.allclose(got_vecs[order], vecs, atol=1e-3)  # float16 lists
    index.save(tmp_path / "ix", {"model_id": "m"})
    loaded, _manifest = VectorIndex.load(tmp_path / "ix", {"model_id": "m", "kind": "ivf"})
    index.nprobe = loaded.nprobe  # nprobe is a search setting, not saved
    assert np.array_equal(loaded.search(vecs[:3], 3)[1], index.search(vecs[:3], 3)[1])
    # a narrow filter scans proportionally more lists, so it still finds the allowed nearest ones
    allowed = ids[::50]
    exact = allowed[np.argsort(-(vecs[::50] @ vecs[7]))[:5]]
    assert index.search(vecs[7], 5, allowed=allowed)[1][0].tolist() == exact.tolist()


def test_flat_search_matches_faiss_at_depth() -> None:
    """The numpy exact path returns what faiss's own flat search returns, deep k and filters included."""
    import faiss

    ids, vecs = _data(500)
    index = VectorIndex(16, "flat")
    index.add(ids, vecs)
    ref = faiss.IndexFlatIP(16)
    ref.add(vecs)
    for k in (1, 10, 499, 500):
        s, got = index.search(vecs[:4], k)
        rs, rpos = ref.search(vecs[:4], k)
        assert np.allclose(s, rs, atol=1e-5) and np.array_equal(got[:, :3], ids[rpos][:, :3])
    s, got = index.search(vecs[0], 20, allowed=ids[:5])
    assert set(got[0][:5].tolist()) == set(ids[:5].tolist()) and (got[0][5:] == -1).all()
