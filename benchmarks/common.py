"""What the benchmarks share: the machine line, percentiles, timing, and catalogue stores.

A catalogue store is a CORDIS folder imported once into ``var/bench/<name>/matcher.db`` and
embedded through the shared vector cache (``var/cache/vectors.db``), so a benchmark run
never re-embeds what any earlier run (or ``matcher eval``) already embedded.

    .venv/bin/python benchmarks/common.py --catalogue ../shared/data/cordis_he_all --model minilm+use-m3

embeds a whole catalogue into the cache (resumable: each chunk is stored as it is done; a
concatenated model's parts are embedded and stored one after the other, so the cheaper part
is complete first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from matcher.config import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_search import cpu_name, percentile  # noqa: E402  (the HTTP benchmark's helpers, reused)

from matcher.retrieval.embed import Encoder  # noqa: E402
from matcher.storage.store import Store  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / "var" / "cache" / "vectors.db"
BENCH_HOME = ROOT / "var" / "bench"
CHUNK = 256

__all__ = ["cpu_name", "percentile", "machine_line", "summary", "timed", "open_cache", "catalogue_store",
           "embed_into_cache"]


def machine_line() -> str:
    """Cores, CPU model, Python, load average: printed first by every benchmark."""
    import platform

    return (f"machine: {os.cpu_count()} cores, {cpu_name()}, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.2f} (other work on the machine inflates every figure alike)")


def summary(ms: Sequence[float]) -> dict[str, float]:
    """p50, p99 (nearest rank), mean of latencies in milliseconds."""
    values = list(ms)
    return {"p50": round(percentile(values, 50), 2), "p99": round(percentile(values, 99), 2),
            "mean": round(statistics.fmean(values), 2), "n": len(values)}


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds one call of ``fn`` takes."""
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def open_cache() -> Store:
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    return Store(f"sqlite:///{CACHE}")


def embed_into_cache(cache: Store, store: Store, encoder: Encoder, log: Callable[[str], None] = print) -> None:
    """Embed every text of ``store`` that ``cache`` lacks, chunk by chunk, part by part, into ``cache``."""
    from matcher.evaluation.vectorcache import seed_vectors

    parts: list[Encoder] = list(getattr(encoder, "parts", None) or [encoder])
    parts.sort(key=lambda p: not p.multilingual)  # the multilingual part first: alone, it is the fallback model
    texts = {h: x for h, x in store.texts_without_vectors(encoder.model_id)}
    have_whole = cache.get_vectors(encoder.model_id, list(texts))
    if len(parts) > 1 and have_whole:  # a part's vector is its slice of the whole one, rescaled to unit length
        from matcher.retrieval.embed import normalise

        keys = list(have_whole)
        whole, lo = np.vstack([have_whole[h] for h in keys]), 0
        for p in getattr(encoder, "parts", []):
            cache.put_vectors(p.model_id, keys, normalise(whole[:, lo:lo + p.dim]))
            lo += p.dim
    for part in parts:
        have = cache.get_vectors(part.model_id, list(texts))
        todo = [h for h in texts if h not in have and h not in have_whole]
        log(f"{part.model_id}: {len(todo)} of {len(texts)} texts to embed")
        t0, done = time.perf_counter(), 0
        for i in range(0, len(todo), CHUNK):
            chunk = todo[i:i + CHUNK]
            cache.put_vectors(part.model_id, chunk, part.encode_documents([texts[h] for h in chunk]))
            done += len(chunk)
            rate = done / (time.perf_counter() - t0)
            log(f"  {done}/{len(todo)}  {rate:.1f} texts/s  ~{(len(todo) - done) / rate / 60:.1f} min left")
    seed_vectors(cache, store, encoder)
    ids, vecs = store.text_vectors(encoder.model_id)
    if len(ids):
        hashes = store.texts(ids.tolist())
        cache.put_vectors(encoder.model_id, [hashes[int(i)][0] for i in ids], vecs)


def catalogue_store(folder: Path, encoder: Encoder | None, name: str | None = None,
                    home: Path = BENCH_HOME) -> Store:
    """The catalogue in ``folder`` imported into its own SQLite store (once), vectors seeded from the cache.

    With an encoder, texts whose vectors are in the cache get them; nothing is embedded here.
    """
    from matcher.evaluation.vectorcache import seed_vectors
    from matcher.ingest.cordis import CordisData, import_cordis

    db = home / (name or Path(folder).name) / "matcher.db"
    fresh = not db.exists()
    db.parent.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{db}")
    if fresh or store.count_organisations() == 0:
        import_cordis(store, CordisData.read(Path(folder)))
    if encoder is not None:
        seed_vectors(open_cache(), store, encoder)
    return store


def missing(store: Store, encoder: Encoder) -> int:
    return len(store.texts_without_vectors(encoder.model_id))


def main() -> None:
    from matcher.retrieval.embed import load_encoder

    parser = argparse.ArgumentParser(description="Embed a CORDIS catalogue into the shared vector cache.")
    parser.add_argument("--catalogue", type=Path, default=SHARED / "cordis_he_all")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    encoder = load_encoder(args.model)
    t0 = time.perf_counter()
    store = catalogue_store(args.catalogue, None)
    print(f"imported {args.catalogue.name}: {len(store.texts())} texts in {time.perf_counter() - t0:.0f} s", flush=True)
    embed_into_cache(open_cache(), store, encoder, log=lambda s: print(s, flush=True))
    print(f"done in {time.perf_counter() - t0:.0f} s; still missing: {missing(store, encoder)}", flush=True)


if __name__ == "__main__":
    main()
