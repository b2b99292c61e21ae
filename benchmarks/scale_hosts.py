"""A synthetic catalogue of N organisations on PostgreSQL, as a host sees it: import, embedding,
index build, start-up, catch-up after 10,000 changes, memory, search latency.

The catalogue is drawn by ``benchmarks/synthetic.py`` (run it first). Each run creates a fresh
database on the server of ``--url`` and drops it afterwards (existing databases are never touched).
Steps, each timed on its own:

1. **Import**: ``matcher import cordis FOLDER --json`` in a child process (the real command);
   its peak memory is the child's.
2. **Vectors**: embedding half a million texts with MiniLM takes hours on two cores, so every text
   but ``--sample`` of them gets a synthetic vector of the default model written straight into the
   ``vectors`` table (a real cached vector moved within the span of real vectors, as in
   ``benchmarks/scale_1m.py``; which real vector is random, so the vectors are realistic in
   distribution, not in meaning: these figures are about time and memory, never quality).
3. **Embedding throughput at this size**: the ``--sample`` texts are embedded for real by 1, 2 and 3
   single-threaded worker processes sharing the claims (``embed_pending``, the loop of
   ``matcher embed``; the vectors are deleted between runs), so the claims work against the
   full-size texts table.
4. **Index build from stored vectors**: a host process with an empty index folder opens the
   matcher and syncs (reads every vector, trains the index, fits BM25, builds the catalogue and the
   collaboration graph, saves the folder); its memory; then search latency for real health
   project titles and 1,000-character objectives, beside the encoder's own time on the same texts.
5. **Start with a saved index**: a second host process on the same folder (the ready time).
6. **Catch-up after 10,000 changes**: that host stays up while 10,000 organisations get a new
   description (each a new text, evidence row and organisation change, with its vector stored as
   the embedding workers would), then times its sync.

    .venv/bin/python benchmarks/synthetic.py --organisations 100000 --out var/synthetic/100k
    .venv/bin/python benchmarks/scale_hosts.py --url postgresql://... --catalogue var/synthetic/100k
    .venv/bin/python benchmarks/scale_hosts.py --url postgresql://... --small   # a few hundred organisations, use-m3,
                                                                     # random base vectors (smoke)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from common import CACHE, ROOT, SHARED, machine_line, open_cache, summary
from embed_workers import _worker
from scale_1m import synthetic
from sqlalchemy import create_engine, delete, exists, func, select, text

MODEL = os.environ.get("MATCHER_SCALE_MODEL", "minilm+use-m3")  # set by --small before any child starts


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def queries() -> tuple[list[str], list[str]]:
    """Real health project titles and objectives cut to 1,000 characters (40 of each)."""
    from matcher.ingest.cordis import CordisData

    rows = sorted(CordisData.read(SHARED / "cordis_health").projects.values(), key=lambda p: p["project_id"])
    return [p["title"] for p in rows[-40:]], [p["objective"][:1000] for p in rows[-80:-40]]


def _env(url: str, home: str) -> None:
    os.environ.update({"MATCHER_DATABASE_URL": url, "MATCHER_HOME": home, "MATCHER_MODEL": MODEL,
                       "HF_HUB_OFFLINE": "1"})


def _open(url: str, home: str):  # type: ignore[no-untyped-def]
    _env(url, home)
    from matcher.config import Settings
    from matcher.service import open_matcher

    return open_matcher(Settings())


def _host_build(url: str, home: str, out) -> None:  # type: ignore[no-untyped-def]
    """Step 4: an empty index folder; build, then query."""
    from matcher.domain import Query

    m = _open(url, home)
    m.encoder.encode_queries(["warm up"])
    t0 = time.perf_counter()
    m.sync()
    build = time.perf_counter() - t0
    snap = m.upkeep.current()
    result: dict[str, object] = {"build_s": round(build, 1), "texts_indexed": len(snap.vectors),
                                 "index": snap.vectors.kind, "rss_after_build_mb": rss_mb()}
    titles, objectives = queries()
    for name, texts in (("titles", titles), ("objectives", objectives)):
        m.search(Query(text=texts[0]))
        search, encode = [], []
        for x in texts:
            t1 = time.perf_counter()
            m.search(Query(text=x))
            search.append((time.perf_counter() - t1) * 1000)
            t1 = time.perf_counter()
            m.encoder.encode_queries([x])
            encode.append((time.perf_counter() - t1) * 1000)
        result[f"search_{name}_ms"], result[f"encode_{name}_ms"] = summary(search), summary(encode)
    result["rss_after_queries_mb"] = rss_mb()
    out.put(result)


def _host_follow(url: str, home: str, out, go) -> None:  # type: ignore[no-untyped-def]
    """Steps 5 and 6: start on the saved folder, then catch up with the changes made meanwhile."""
    t0 = time.perf_counter()
    m = _open(url, home)
    m.sync()
    ready = time.perf_counter() - t0
    before = m.upkeep.current().change_no
    out.put({"ready_s": round(ready, 2), "rss_ready_mb": rss_mb()})
    go.wait()
    t0 = time.perf_counter()
    m.sync()
    out.put({"catch_up_s": round(time.perf_counter() - t0, 2), "changes": m.upkeep.current().change_no - before,
             "rss_after_catch_up_mb": rss_mb()})


def fill_vectors(store, keep_out: int, seed: int = 0) -> list[str]:  # type: ignore[no-untyped-def]
    """Step 2: synthetic vectors for all texts but ``keep_out`` (returned: their hashes)."""
    hashes, held, rng = _held_out(store, keep_out, seed)
    todo = [h for i, h in enumerate(hashes) if i not in held]
    base = cached_vectors()
    base = base[rng.permutation(len(base))]
    for lo in range(0, len(todo), 20_000):
        chunk = todo[lo:lo + 20_000]
        store.put_vectors(store_model_id(), chunk, synthetic(base, len(chunk), seed=lo))
    return [hashes[i] for i in sorted(held)]


def _held_out(store, keep_out: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """(every text hash in id order, the positions held out of step 2, the random generator after the draw)."""
    from matcher.storage import schema as t

    with store.engine.connect() as conn:
        hashes = [h for (h,) in conn.execute(select(t.texts.c.text_hash).order_by(t.texts.c.id))]
    rng = np.random.default_rng(seed)
    held = set(rng.choice(len(hashes), size=min(keep_out, len(hashes)), replace=False).tolist())
    return hashes, held, rng


def cached_vectors() -> np.ndarray:
    """Every vector of the default model in the shared vector cache (the real ones the synthetic are drawn from);
    with ``--small``, random ones."""
    from matcher.storage import schema as t

    if os.environ.get("MATCHER_SCALE_SMALL"):
        from matcher.retrieval.embed import load_encoder, normalise

        return normalise(np.random.default_rng(0).normal(size=(500, load_encoder(MODEL).dim)).astype(np.float32))
    cache = open_cache()
    with cache.engine.connect() as conn:
        rows = conn.execute(select(t.vectors.c.vector).where(t.vectors.c.model_id == store_model_id())).scalars()
        base = np.array([np.frombuffer(v, dtype=np.float32) for v in rows])
    cache.close()
    if not len(base):
        raise SystemExit(f"no cached vectors of {MODEL} in {CACHE}: run benchmarks/common.py first")
    return base


def store_model_id() -> str:
    from matcher.retrieval.embed import load_encoder

    return load_encoder(MODEL).model_id


def _has_vector():  # type: ignore[no-untyped-def]
    """EXISTS a vector for the text (NOT IN over a subquery that outgrows work_mem is quadratic in PostgreSQL)."""
    from matcher.storage import schema as t

    return exists().where(t.vectors.c.text_hash == t.texts.c.text_hash)


def embed_runs(store, url: str, sample: list[str], workers: list[int]) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Step 3: the held-out texts embedded for real by 1, 2, 3 workers over the full-size tables."""
    from matcher.storage import schema as t

    out = []
    ctx = mp.get_context("spawn")
    for w in workers:
        with store.transaction() as conn:
            conn.execute(delete(t.vectors).where(t.vectors.c.text_hash.in_(sample)))
            conn.execute(delete(t.embed_claims))
        ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=_worker, args=(url, MODEL, 64, ready, start, results)) for _ in range(w)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=600)
        t0 = time.time()
        start.set()
        done = [results.get(timeout=7200) for _ in procs]
        for p in procs:
            p.join()
        seconds = max(d[3] for d in done) - t0
        with store.engine.connect() as conn:
            missing = conn.execute(select(func.count()).select_from(t.texts).where(~_has_vector())).scalar_one()
        counts = sorted(d[1] for d in done)
        if missing or sum(counts) != len(sample):
            raise SystemExit(f"{w} workers: {missing} texts without a vector, counts {counts}")
        out.append({"workers": w, "seconds": round(seconds, 1), "texts_per_s": round(len(sample) / seconds, 2),
                    "per_worker": counts, "texts_per_cpu_s": round(len(sample) / sum(d[4] for d in done), 2)})
        print(json.dumps({"embedding": out[-1]}), flush=True)
    return out


def change_descriptions(store, n: int) -> int:  # type: ignore[no-untyped-def]
    """Step 6: ``n`` organisations get a new description, their vectors stored; returns the change count."""
    from matcher.storage import schema as t

    rng = np.random.default_rng(1)
    before = store.change_no()
    with store.engine.connect() as conn:
        ids = [i for (i,) in conn.execute(select(t.organisations.c.id).order_by(t.organisations.c.id))]
    orgs = store.get_organisations(rng.choice(ids, size=n, replace=False).tolist())
    _t, objectives = queries()
    for k, org in enumerate(orgs.values()):
        org.description = f"{objectives[k % len(objectives)][:400]} (profile {k})"
    for lo in range(0, n, 1000):
        store.upsert_organisations(list(orgs.values())[lo:lo + 1000])
    model = store_model_id()
    base = cached_vectors()
    with store.engine.connect() as conn:
        new = [h for (h,) in conn.execute(select(t.texts.c.text_hash).where(~_has_vector()))]
    store.put_vectors(model, new, synthetic(base, len(new), seed=7))
    return store.change_no() - before


def first_steps(a: argparse.Namespace, url: str, home: str, store, report: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    """Steps 1-3: import, synthetic vectors, embedding throughput."""
    env = {**os.environ, "MATCHER_DATABASE_URL": url, "MATCHER_HOME": home, "MATCHER_MODEL": MODEL}
    t0 = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "matcher"), "import", "cordis", str(a.catalogue),
                           "--json"], env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    report["import"] = {"seconds": round(seconds, 1), **json.loads(done.stdout),
                        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}
    print(json.dumps({"import": report["import"]}), flush=True)
    t0 = time.perf_counter()
    sample = fill_vectors(store, a.sample)
    report["synthetic_vectors_s"] = round(time.perf_counter() - t0, 1)
    report["embedding"] = embed_runs(store, url, sample, [int(w) for w in a.workers.split(",")])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("MATCHER_TEST_POSTGRES_URL", ""), help="PostgreSQL server URL")
    ap.add_argument("--catalogue", type=Path, help="a folder written by benchmarks/synthetic.py")
    ap.add_argument("--small", action="store_true", help="smoke run: a few hundred organisations drawn from the health "
                    "catalogue, model use-m3, random base vectors")
    ap.add_argument("--sample", type=int, default=600, help="texts embedded for real in step 3")
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    ap.add_argument("--reuse", default="", metavar="NAME",
                    help="a database kept by --keep: skip steps 1-3 (import, vectors, embedding)")
    ap.add_argument("--embedding", action="store_true",
                    help="with --reuse: run step 3 (embedding) again on the texts that step 2 held out")
    a = ap.parse_args()
    if a.small:
        global MODEL
        MODEL = os.environ["MATCHER_SCALE_MODEL"] = "use-m3"
        os.environ["MATCHER_SCALE_SMALL"] = "1"
        from synthetic import generate

        a.catalogue = Path(tempfile.mkdtemp(prefix="matcher-synthetic-"))
        generate(SHARED / "cordis_health", 2000, a.catalogue)
        a.sample, a.workers, a.changes = 12, "1,2", 20
    if a.catalogue is None:
        raise SystemExit("--catalogue FOLDER (written by benchmarks/synthetic.py) or --small is required")
    if not a.url.startswith("postgresql"):
        raise SystemExit("--url postgresql://... is required (scripts/pg-throwaway.sh starts a server)")
    from matcher.storage.store import Store

    print(machine_line(), flush=True)
    admin = create_engine(a.url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = a.reuse or f"matcher_scale_{uuid.uuid4().hex[:8]}"
    if not a.reuse:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    url = a.url.rsplit("/", 1)[0] + "/" + name
    report: dict[str, object] = {"catalogue": str(a.catalogue), "database": name}
    home = tempfile.mkdtemp(prefix="matcher-scale-")
    try:
        store = Store(url)
        if not a.reuse:
            first_steps(a, url, home, store, report)
        elif a.embedding:
            hashes, held, _rng = _held_out(store, a.sample)
            report["embedding"] = embed_runs(store, url, [hashes[i] for i in sorted(held)],
                                             [int(w) for w in a.workers.split(",")])
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        p = ctx.Process(target=_host_build, args=(url, home, out))
        p.start()
        report["build"] = out.get(timeout=7200)
        p.join()
        print(json.dumps({"build": report["build"]}), flush=True)
        go = ctx.Event()
        p = ctx.Process(target=_host_follow, args=(url, home, out, go))
        p.start()
        report["start"] = out.get(timeout=3600)
        print(json.dumps({"start": report["start"]}), flush=True)
        t0 = time.perf_counter()
        report["changes_made"] = change_descriptions(store, a.changes)
        report["changes_s"] = round(time.perf_counter() - t0, 1)
        go.set()
        report["catch_up"] = out.get(timeout=7200)
        p.join()
        store.close()
        print("RESULT " + json.dumps(report), flush=True)
    finally:
        if a.keep or a.reuse:
            print(f"kept: {name}", file=sys.stderr)
        else:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
