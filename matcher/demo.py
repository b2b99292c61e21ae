"""The demo data set: real East-Netherlands organisations (CORDIS) and sample challenges."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matcher.domain import Challenge
from matcher.errors import Conflict, NotFound
from matcher.evaluation.vectorcache import seed_vectors
from matcher.ingest.cordis import CordisData, ImportSummary, Tick, import_cordis
from matcher.retrieval.embed import Encoder, normalise
from matcher.storage.store import Store

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"


def load_challenges(store: Store, path: Path) -> list[int]:
    """Store the challenges of a demo ``challenges.json`` (keyed ``demo:<key>``); returns their ids."""
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    ids = []
    for item in items:
        poser = store.find_organisation(f"pic:{item['posed_by']}") if item.get("posed_by") else None
        ids.append(store.save_challenge(Challenge(
            title=item["title"], description=item["description"], external_id=f"demo:{item['key']}",
            posed_by=poser.id if poser else None, wanted_kinds=list(item.get("wanted_kinds", [])),
            region=item.get("region", ""), instrument=item.get("instrument", ""),
            confidentiality=item.get("confidentiality", "public"))))
    return ids


def load_demo(store: Store, folder: Path = DEMO_DIR, tick: Tick | None = None, force: bool = False,
              encoder: Encoder | None = None, data: CordisData | None = None) -> tuple[ImportSummary, list[int]]:
    """Load the demo into ``store``; refuses a database that already holds other data unless ``force``.

    With ``encoder``, the shipped vectors of that model (or of its parts) are stored too, so
    the first sync embeds nothing that the demo already carries.
    """
    if not (folder / "projects.csv.gz").exists():
        raise NotFound(f"no demo data in {folder}")
    loaded = any((c.external_id or "").startswith("demo:") for c in store.list_challenges())
    if not force and not loaded and store.count_organisations():
        raise Conflict("the database already holds data; the demo loads into an empty database "
                           "(use --force to add it anyway)")
    summary = import_cordis(store, data or CordisData.read(folder), tick)
    if encoder is not None and (folder / "vectors.npz").exists():
        seed_vectors(DemoVectors(folder / "vectors.npz"), store, encoder)
    return summary, load_challenges(store, folder / "challenges.json")


class DemoVectors:
    """Precomputed vectors shipped with the demo (``vectors.npz``), per model id and text hash.

    Stored as float16 to halve the file; rows are re-normalised on load. Only texts whose
    hash matches are used, so an edited demo text is simply embedded afresh.
    """

    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as z:
            self.hashes = [str(h) for h in z["hashes"]]
            models = [str(m) for m in z["models"]]
            self._vectors = {m: z[f"m{i}"] for i, m in enumerate(models)}
        self._row = {h: i for i, h in enumerate(self.hashes)}

    def get_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        matrix = self._vectors.get(model_id)
        if matrix is None:
            return {}
        found = [h for h in hashes if h in self._row]
        if not found:
            return {}
        rows = normalise(matrix[[self._row[h] for h in found]].astype(np.float32))
        return dict(zip(found, rows))


def write_demo_vectors(path: Path, hashes: Sequence[str], vectors: dict[str, np.ndarray]) -> None:
    """Write ``vectors.npz``: text hashes, model ids and one float16 matrix per model."""
    arrays = {f"m{i}": np.asarray(v, dtype=np.float16) for i, v in enumerate(vectors.values())}
    np.savez_compressed(path, hashes=np.asarray(hashes), models=np.asarray(list(vectors)), **arrays)
