"""Shared bulk embedding: texts per second with 1, 2 and 3 single-threaded workers on one PostgreSQL.

Each run imports the same real texts (health project titles and objectives, cut to 1,000 characters)
into a fresh database created for it on the server of ``--url`` (and dropped afterwards; existing
databases are never touched), starts W worker processes with ``MATCHER_THREADS=1``, lets each load
and warm up its encoder, then starts them together: each runs ``embed_pending`` (the loop of
``matcher embed``) until nothing is left to claim. Throughput is texts / (last worker done - start);
model loading is not counted. The workers' CPU seconds are reported too: on a machine whose cores are
busy with other work the wall-clock speed-up says little, while texts per CPU second shows whether
sharing the work costs anything (it stays flat when the claims add nothing). Every text must end with
exactly one vector and the workers' counts must add up to the texts (none embedded twice), or the run
fails.

    .venv/bin/python benchmarks/embed_workers.py --url postgresql://... [--texts 1500] [--workers 1,2,3]
    .venv/bin/python benchmarks/embed_workers.py --url postgresql://... --small
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
import uuid

from common import SHARED, machine_line
from sqlalchemy import create_engine, func, select, text

from matcher.ingest.cordis import CordisData


def texts_of(n: int) -> list[str]:
    data = CordisData.read(SHARED / "cordis_health")
    rows = sorted(data.projects.values(), key=lambda p: p["project_id"])
    out = dict.fromkeys(f"{p['title']}. {p['objective']}"[:1000] for p in rows)
    return list(out)[:n]


def _worker(url: str, model: str, batch: int, ready, start, results) -> None:  # type: ignore[no-untyped-def]
    os.environ["MATCHER_THREADS"] = "1"  # before the encoder is loaded: one thread per worker
    from matcher.retrieval.bulk import embed_pending
    from matcher.retrieval.embed import load_encoder
    from matcher.storage.store import Store

    encoder = load_encoder(model)
    encoder.encode_documents(["warm up the session", "and the tokenizer"])
    store = Store(url)
    ready.put(os.getpid())
    start.wait()
    t0, cpu0 = time.time(), time.process_time()
    report = embed_pending(store, encoder, batch=batch)
    results.put((os.getpid(), report.embedded, t0, time.time(), time.process_time() - cpu0))
    store.close()


def _claims_only(url: str, _model: str, batch: int, ready, start, results) -> None:  # type: ignore[no-untyped-def]
    """The claims path alone (claim, store zero vectors, release): what sharing costs per text."""
    import numpy as np

    from matcher.storage.claims import EmbedClaims
    from matcher.storage.store import Store

    store = Store(url)
    claims = EmbedClaims(store, "coordination-only")
    ready.put(os.getpid())
    start.wait()
    t0, cpu0, n = time.time(), time.process_time(), 0
    while todo := claims.claim(batch):
        claims.complete([h for h, _x in todo], np.zeros((len(todo), 384), np.float32))
        n += len(todo)
    results.put((os.getpid(), n, t0, time.time(), time.process_time() - cpu0))
    store.close()


def run(server_url: str, texts: list[str], workers: int, model: str, batch: int,
        target=_worker) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from matcher.storage import schema as t
    from matcher.storage.store import Store

    admin = create_engine(server_url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    name = f"matcher_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        store = Store(url)
        with store.transaction() as conn:
            store.intern_texts(conn, texts)
        ctx = mp.get_context("spawn")
        ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=target, args=(url, model, batch, ready, start, results)) for _ in range(workers)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=600)
        t_start = time.time()
        start.set()
        done = [results.get(timeout=3600) for _ in procs]
        for p in procs:
            p.join()
        seconds = max(d[3] for d in done) - t_start
        with store.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(t.vectors)).scalar_one()
        store.close()
        counts = sorted(d[1] for d in done)
        if stored != len(texts) or sum(counts) != len(texts):
            raise SystemExit(f"{workers} workers: {stored} vectors, counts {counts}, for {len(texts)} texts")
        cpu = sum(d[4] for d in done)
        return {"workers": workers, "seconds": round(seconds, 2), "texts_per_s": round(len(texts) / seconds, 2),
                "per_worker": counts, "cpu_s": round(cpu, 2), "texts_per_cpu_s": round(len(texts) / cpu, 2)}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("MATCHER_TEST_POSTGRES_URL", ""),
                    help="a PostgreSQL server URL (a fresh database is created on it per run)")
    ap.add_argument("--texts", type=int, default=1500)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--claims-only", type=int, default=0, metavar="N",
                    help="also time the claims path alone (no encoder) over N texts: what sharing costs")
    ap.add_argument("--small", action="store_true",
                    help="a smoke run: 40 texts, 1 and 2 workers, the claims path over 200")
    args = ap.parse_args()
    if not args.url:
        raise SystemExit("--url (or MATCHER_TEST_POSTGRES_URL) is needed: scripts/pg-throwaway.sh starts a server")
    print(machine_line(), flush=True)
    n, counts = (40, [1, 2]) if args.small else (args.texts, [int(w) for w in args.workers.split(",")])
    batch = 8 if args.small else args.batch
    claims_only = 200 if args.small else args.claims_only
    texts = texts_of(n)
    runs = []
    for w in counts:
        runs.append(run(args.url, texts, w, args.model, batch))
        print(json.dumps(runs[-1]), flush=True)
    base = runs[0]["texts_per_s"]
    result = {"texts": len(texts), "model": args.model, "batch": batch, "runs": runs,
              "speedup": {r["workers"]: round(r["texts_per_s"] / base, 2) for r in runs}}  # type: ignore[operator]
    if claims_only:
        many = [f"{x} ({i})" for i in range(claims_only // len(texts) + 1) for x in texts][:claims_only]
        result["claims_only"] = [run(args.url, many, w, args.model, batch, _claims_only) for w in counts]
        print(json.dumps(result["claims_only"]), flush=True)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
