"""In-process query latency (p50, p99) of search, challenge suggestions and partners, with query embedding.

For each catalogue (a CORDIS folder imported into ``var/bench/<name>/``, vectors from the
shared cache ``var/cache/vectors.db``; a catalogue whose vectors are not all cached is skipped,
never embedded here: ``benchmarks/common.py`` does that), the same query texts are timed, one
after another and interleaved, through:

* the pipeline: ``Matcher.search`` (embedding, dense + BM25 retrieval, fusion, aggregation,
  filters, explanations, organisation records), ``suggest_for_challenge`` and ``partners_for``;
* the reference: the bare query embedding (``encoder.encode_queries``) and the bare faiss search
  (``IndexFlatIP``, k=10) on the same vectors.

Queries: half real project texts of the catalogue (title and objective), half short free-text
needs; challenges are real project texts stored as challenges wanting SMEs, companies or
institutes; partner requests are for organisations with evidence.

    .venv/bin/python benchmarks/query_latency.py                       # health + he_all, the default model
    .venv/bin/python benchmarks/query_latency.py --model use-m3 --catalogues he_all
    .venv/bin/python benchmarks/query_latency.py --small               # a month of projects (smoke)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
from common import SHARED, catalogue_store, machine_line, summary, timed
from http_search import SHORT_QUERIES

from matcher.config import DEFAULT_MODEL
from matcher.domain import Challenge
from matcher.engine import Matcher, Query
from matcher.queries import challenge_query, partners_for, partners_query, suggest_for_challenge
from matcher.retrieval.embed import Encoder, load_encoder
from matcher.storage.store import Store
from matcher.text import clean_query

WANTED = ["sme", "large_company", "research_institute"]


def small_store(encoder: Encoder, workdir: Path) -> Store:
    """January 2022's health projects in a temporary store (embedded here: a few dozen texts)."""
    from common import open_cache

    from matcher.evaluation.vectorcache import seed_vectors
    from matcher.ingest.cordis import CordisData, import_cordis

    data = CordisData.read(SHARED / "cordis_health").subset(lambda p: "2022-01" <= p["start_date"] < "2022-02")
    store = Store(f"sqlite:///{workdir / 'small.db'}")
    import_cordis(store, data)
    seed_vectors(open_cache(), store, encoder)
    return store


def prepare(store: Store, n: int) -> tuple[list[str], list[int], list[int]]:
    """Query texts, challenge ids (created once per store) and organisation ids for partner requests."""
    texts = store.texts()
    ids = sorted(texts)
    rng = np.random.default_rng(0)
    picks = [ids[i] for i in rng.choice(len(ids), min(n, len(ids)), replace=False)]
    long = [texts[i][1] for i in picks]
    queries = [q for pair in zip(long, SHORT_QUERIES * (n // len(SHORT_QUERIES) + 1)) for q in pair][:n]
    orgs = store.evidence_links()[1]
    challenges = [c.id for c in store.list_challenges() if c.external_id and c.external_id.startswith("bench:")]
    if len(challenges) < n:
        posers = rng.choice(orgs, len(long))
        for i, (text, poser) in enumerate(zip(long, posers)):
            title, _, desc = text.partition(". ")
            challenges.append(store.save_challenge(Challenge(title or text[:60], desc or text, external_id=f"bench:{i}",
                                                             posed_by=int(poser), wanted_kinds=WANTED)))
    partner_orgs = [int(o) for o in rng.choice(np.unique(orgs), n, replace=False)]
    return queries, [c for c in challenges if c is not None][:n], partner_orgs


def measure(name: str, store: Store, encoder: Encoder, n: int) -> dict[str, object]:
    """Each shape's pipeline call and, on the text that call embeds, the reference (bare embed + faiss)."""
    queries, challenges, orgs = prepare(store, n)
    m = Matcher(store, encoder, None)
    t0 = time.perf_counter()
    m.sync()
    sync_s = time.perf_counter() - t0
    ids, vecs = store.text_vectors(encoder.model_id)
    flat = faiss.IndexFlatIP(encoder.dim)
    flat.add(vecs)
    for q in queries[:2]:  # warm-up: first calls allocate and fill caches
        m.search(Query(q, 10))
    shapes: dict[str, list[tuple[str, Callable[[], object]]]] = {
        "search": [(q, lambda q=q: m.search(Query(q, 10))) for q in queries],
        "search_short": [(q, lambda q=q: m.search(Query(q, 10))) for q in queries if q in SHORT_QUERIES],
        "suggestions": [(challenge_query(m, c).text, lambda c=c: suggest_for_challenge(m, c, 10))
                        for c in challenges],
        "partners": [(partners_query(m, o).text, lambda o=o: partners_for(m, o, 10)) for o in orgs],
    }
    out: dict[str, object] = {"catalogue": name, "model": encoder.model_id, "vectors": len(ids),
                              "organisations": m.upkeep.current().catalogue.n_orgs,
                              "index_kind": m.upkeep.current().vectors.kind, "sync_s": round(sync_s, 1),
                              "queries": len(queries)}
    ratios = {}
    for shape, calls in shapes.items():
        emb, bare, full = [], [], []
        for text, call in calls:  # interleaved: reference, then pipeline, on the same text
            qv: list[np.ndarray] = []
            emb.append(timed(lambda text=text, qv=qv: qv.append(encoder.encode_queries([clean_query(text)]))))
            bare.append(timed(lambda qv=qv: flat.search(qv[0], 10)))
            full.append(timed(call))
        ref = summary([e + b for e, b in zip(emb, bare)])
        out[shape] = {"pipeline_ms": summary(full), "reference_ms": ref, "reference_embed_ms": summary(emb),
                      "reference_bare_faiss_ms": summary(bare),
                      "mean_chars": round(sum(len(t) for t, _c in calls) / max(1, len(calls)))}
        ratios[shape] = round(summary(full)["p50"] / ref["p50"], 2)
    out["ratio_p50"] = ratios
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a month of health projects, use-m3, 3 queries")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--catalogues", default="health,he_all", help="comma-separated: health, he_all")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    results = []
    if args.small:
        encoder = load_encoder("use-m3")
        with tempfile.TemporaryDirectory(prefix="matcher-bench-") as tmp:
            results.append(measure("health, January 2022", small_store(encoder, Path(tmp)), encoder, 3))
    else:
        encoder = load_encoder(args.model)
        for name in [c.strip() for c in args.catalogues.split(",") if c.strip()]:
            store = catalogue_store(SHARED / f"cordis_{name}", encoder)
            todo = len(store.texts_without_vectors(encoder.model_id))
            if todo:
                print(f"{name}: skipped, {todo} texts have no cached {encoder.model_id} vector "
                      f"(run benchmarks/common.py --catalogue ../shared/data/cordis_{name} --model {args.model})")
                continue
            results.append(measure(name, store, encoder, args.queries))
    for r in results:
        if args.json:
            print(json.dumps(r))
            continue
        print(f"{r['catalogue']}: {r['vectors']} vectors, {r['organisations']} organisations, model {r['model']}, "
              f"{r['index_kind']} index, {r['queries']} queries")
        for k in ("search", "search_short", "suggestions", "partners"):
            v = r[k]
            for part in ("pipeline_ms", "reference_ms", "reference_embed_ms", "reference_bare_faiss_ms"):
                x = v[part]  # type: ignore[index]
                print(f"  {k:<13} {part[:-3]:<22} p50 {x['p50']:>8.2f} ms  p99 {x['p99']:>8.2f} ms  "
                      f"(n={x['n']}, {v['mean_chars']} chars)")  # type: ignore[index]
        print(f"  pipeline / reference (p50): {r['ratio_p50']}")
        print("RESULT " + json.dumps(r))


if __name__ == "__main__":
    main()
