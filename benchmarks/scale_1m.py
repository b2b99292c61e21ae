"""One million evidence vectors: approximate index recall@10 and latency, and the pipeline at that size.

Synthetic catalogue (how it is drawn): every synthetic vector is a real evidence vector of the
health catalogue (``var/cache/vectors.db``, the default model) moved within the span of real
vectors and renormalised: ``v = normalise(x_b + 0.5 (x_c - x_d) + e)``, with ``b, c, d`` random
real rows and ``e ~ N(0, 0.02^2 I)``; its cosine to ``x_b`` is about 0.85, so the million vectors
keep the anisotropy of real embeddings (they are not uniform on the sphere, which would make
every index look worse and every neighbour meaningless). Documents are linked to organisations
by copying the real catalogue's evidence links once per replica of the real documents.

Measured in the same run: exact search (``IndexFlatIP``, the truth), the automatic index
(``choose_kind("auto", n)``, IVF; build time; recall@10 and latency for several ``nprobe``), the
bare faiss call on the same index (the reference), and the matcher's ranking stages (dense
search at its depth, BM25, fusion, aggregation per organisation, filters) for search-, challenge-
and partner-shaped queries; beside them, in the same run and on the same queries, the same stages
over full arrays as they ran before issue 15 (every document scored, fused and aggregated:
:func:`full_array_retrieve`), whose rankings must be identical, and query embedding alone. BM25 at
this size: a real inverted index whose posting lists are the real catalogue's, once per replica of
its documents (document i holds the terms of real document i mod n_real, with the real catalogue's
IDF), so a query term's list grows with the catalogue as it would; tokenising a million texts is
not done here.

    .venv/bin/python benchmarks/scale_1m.py            # 1,000,000 vectors, the default model
    .venv/bin/python benchmarks/scale_1m.py --small    # 20,000 vectors, use-m3, random base (smoke)
"""

from __future__ import annotations

import argparse
import gc
import json
import time

import faiss
import numpy as np
from common import SHARED, catalogue_store, machine_line, summary, timed

from matcher.config import DEFAULT_MODEL
from matcher.domain import Filters
from matcher.engine import Matcher, Query
from matcher.retrieval.catalogue import Catalogue
from matcher.retrieval.embed import load_encoder, normalise
from matcher.retrieval.index import VectorIndex, choose_kind
from matcher.retrieval.lexical import LexicalIndex
from matcher.retrieval.scores import DocScores, Ranking
from matcher.storage.store import Store


def synthetic(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` perturbed real vectors (see the module docstring), built in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), np.float32)
    for lo in range(0, n, 100_000):
        m = min(n, lo + 100_000) - lo
        b = np.arange(lo, lo + m) % len(base)  # document i copies real document i mod n_real
        c, d = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
        x = base[b] + 0.5 * (base[c] - base[d]) + rng.normal(0, 0.02, (m, base.shape[1])).astype(np.float32)
        out[lo:lo + m] = normalise(x)
    return out


def tiled_lexical(real: LexicalIndex, n: int) -> LexicalIndex:
    """A BM25 index over ``n`` documents, document i holding the postings of real document i mod n_real."""
    import copy

    nd, bm = len(real), real._bm25
    assert bm is not None
    data, indices, indptr = bm.scores["data"], bm.scores["indices"], bm.scores["indptr"]
    reps, lens = -(-n // nd), np.diff(indptr)
    col = np.repeat(np.arange(len(lens)), lens)
    within = np.arange(len(indices)) - indptr[col]
    out_idx = np.empty(len(indices) * reps, dtype=np.int64)
    out_data = np.empty(len(indices) * reps, dtype=data.dtype)
    for r in range(reps):  # column by column: a column's postings, replica after replica, ascending
        at = indptr[col] * reps + r * lens[col] + within
        out_idx[at], out_data[at] = indices + r * nd, data
    keep = out_idx < n
    out_col = np.repeat(np.arange(len(lens)), lens * reps)[keep]
    tiled = copy.copy(bm)
    tiled.scores = {"data": out_data[keep], "indices": out_idx[keep].astype(indices.dtype),
                    "indptr": np.searchsorted(out_col, np.arange(len(lens) + 1)).astype(indptr.dtype), "num_docs": n}
    out = LexicalIndex(real.k1, real.b)
    out._bm25, out.ids_ = tiled, np.arange(n, dtype=np.int64)
    return out


def full_array_retrieve(snap, query: Query, qvec: np.ndarray, config) -> Ranking:  # type: ignore[no-untyped-def]
    """The ranking stages as they ran before issue 15: BM25 for every document (bm25s), fusion over
    every document, aggregation over every evidence link (the reference for the top-k path)."""
    from matcher.retrieval import fuse

    cat, lex = snap.catalogue, snap.lexical
    org_ok = cat.allowed_orgs(query.filters, query.visible)
    doc_ok = cat.docs_of(org_ok)
    n, n_ok = len(cat.doc_ids), int(doc_ok.sum())
    lex_all = lex.scores(query.text, config.lexical_terms)
    depth = config.depth
    while True:
        scores, ids = snap.vectors.search(qvec, min(depth, max(n_ok, 1)), None if n_ok == n else cat.doc_ids[doc_ok])
        dense = np.full(n, -np.inf)
        ok = ids[0] >= 0
        dense[np.searchsorted(cat.doc_ids, ids[0][ok])] = scores[0][ok]
        lexical = np.where(doc_ok & (lex_all > 0), lex_all, -np.inf)
        top = fuse.top_k(lexical, depth)
        cut = np.full(n, -np.inf)
        cut[top] = lexical[top]
        fused = fuse.fuse_scores(dense, cut, config.fusion, config.dense_weight, config.lexical_weight, config.shift)
        org_scores, hits = fuse.aggregate(fused, cat.link_doc, cat.link_org, cat.n_orgs, config.top_evidence,
                                          config.decay)
        org_scores[~org_ok] = -np.inf
        if int(np.isfinite(org_scores).sum()) >= query.k or depth >= n_ok:
            break
        depth *= 4
    room = max(config.candidates, query.k) + len(query.verdicts) + len(query.demote)
    return Ranking(query, DocScores(fused, dense, cut), org_scores, hits, fuse.top_k(org_scores, room))


def replicated_catalogue(cat: Catalogue, n: int) -> Catalogue:
    """The real catalogue's links copied once per replica of its documents, cut at ``n`` documents."""
    nd, no = len(cat.doc_ids), cat.n_orgs
    reps = -(-n // nd)
    r_links = np.repeat(np.arange(reps), len(cat.link_doc))
    link_doc = np.tile(cat.link_doc, reps) + r_links * nd
    link_org = np.tile(cat.link_org, reps) + r_links * no
    keep = link_doc < n
    link_doc, link_org = link_doc[keep], link_org[keep]
    n_orgs = int(link_org.max()) + 1 if len(link_org) else 0
    order = np.argsort(link_org, kind="stable")
    link_doc, link_org = link_doc[order], link_org[order]
    tile = lambda a: np.resize(a, n_orgs)  # noqa: E731
    return Catalogue(doc_ids=np.arange(n, dtype=np.int64), org_ids=np.arange(n_orgs, dtype=np.int64),
                     kinds=tile(cat.kinds), countries=tile(cat.countries), nuts=tile(cat.nuts), sme=tile(cat.sme),
                     visibility=tile(cat.visibility), link_doc=link_doc, link_org=link_org,
                     org_start=np.searchsorted(link_org, np.arange(n_orgs + 1)),
                     latest=None if cat.latest is None else tile(cat.latest))


def real_base(args: argparse.Namespace, encoder) -> tuple[np.ndarray, list[str], Store | None]:  # type: ignore[no-untyped-def]
    if args.small:  # smoke mode: no catalogue import; clustered random vectors and fixed query texts
        rng = np.random.default_rng(1)
        centres = normalise(rng.normal(size=(50, encoder.dim)))
        base = normalise(centres[rng.integers(0, 50, 2000)] + rng.normal(0, 0.05, (2000, encoder.dim)))
        return base, [f"wearable sensor for patient monitoring {i}" for i in range(args.queries)], None
    store = catalogue_store(SHARED / "cordis_health", encoder)
    ids, vecs = store.text_vectors(encoder.model_id)
    texts = store.texts(ids[:: max(1, len(ids) // args.queries)][: args.queries].tolist())
    return vecs, [x for _h, x in texts.values()], store


def measure_index(x: np.ndarray, q: np.ndarray, truth: np.ndarray, nprobes: list[int]) -> dict[str, object]:
    ids = np.arange(len(x), dtype=np.int64)
    kind = choose_kind("auto", len(x)) if len(x) >= 200_000 else "ivf"
    index = VectorIndex(x.shape[1], kind)
    t0 = time.perf_counter()
    index.add(ids, x)
    out: dict[str, object] = {"kind": kind, "nlist": int(index._index.nlist),
                              "build_s": round(time.perf_counter() - t0, 1)}
    bare = index._index
    for nprobe in nprobes:
        index.nprobe = nprobe
        got = index.search(q, 10)[1]
        recall = float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]))
        wrapped, raw, deep = [], [], []
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        for row in q:
            raw.append(timed(lambda row=row, params=params: bare.search(row[None, :], 10, params=params)))
            wrapped.append(timed(lambda row=row: index.search(row, 10)))
            deep.append(timed(lambda row=row: index.search(row, 1000)))
        out[f"nprobe={nprobe}"] = {"recall@10": round(recall, 4), "bare_faiss_ms": summary(raw),
                                   "VectorIndex_ms": summary(wrapped), "k1000_ms": summary(deep)}
    return {"index": index, **out}


def measure_variants(index: VectorIndex, x: np.ndarray, q: np.ndarray, truth: np.ndarray, specs: list[str],
                     nprobes: list[int]) -> dict[str, object]:
    """Compressed IVF lists (``SQ8``, ``SQfp16``...) on the automatic index's trained lists: recall, latency."""
    out: dict[str, object] = {}
    quantizer = index._index.quantizer
    for spec in specs:
        coarse = faiss.IndexFlatIP(x.shape[1])
        coarse.add(quantizer.reconstruct_n(0, quantizer.ntotal))
        qtype = getattr(faiss.ScalarQuantizer, f"QT_{spec[2:]}" if spec != "SQ8" else "QT_8bit")
        ivf = faiss.IndexIVFScalarQuantizer(coarse, x.shape[1], coarse.ntotal, qtype, faiss.METRIC_INNER_PRODUCT)
        t0 = time.perf_counter()
        ivf.train(x[:: max(1, len(x) // 50_000)])
        ivf.add(x)
        res: dict[str, object] = {"build_s": round(time.perf_counter() - t0, 1),
                                  "bytes_per_vector": int(ivf.code_size)}
        for nprobe in nprobes:
            params = faiss.SearchParametersIVF(nprobe=nprobe)
            got = ivf.search(q, 10, params=params)[1]
            recall = float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]))
            lat = [timed(lambda row=row, ivf=ivf, params=params: ivf.search(row[None, :], 10, params=params))
                   for row in q]
            res[f"nprobe={nprobe}"] = {"recall@10": round(recall, 4), "bare_faiss_ms": summary(lat)}
        out[f"IVF{coarse.ntotal},{spec}"] = res
        print(f"variant IVF{coarse.ntotal},{spec}: {json.dumps(res)}", flush=True)
        del ivf, coarse
        gc.collect()
    return out


def pipeline(index: VectorIndex, cat: Catalogue, lex: LexicalIndex, encoder, texts: list[str],  # type: ignore[no-untyped-def]
             store: Store | None) -> dict[str, object]:
    """The ranking stages (dense at depth, BM25, fusion, aggregation, filters) for a known query vector,
    against the same stages over full arrays (:func:`full_array_retrieve`), the bare faiss call at the
    same depth, and the embedding of the same text."""
    from matcher.retrieval.index import IVF_NPROBE

    index.nprobe = IVF_NPROBE
    m = Matcher(store, encoder, None)  # type: ignore[arg-type]
    from scipy import sparse

    from matcher.retrieval.graph import CollaborationGraph
    from matcher.retrieval.snapshot import Snapshot

    no_graph = CollaborationGraph(sparse.csr_matrix((cat.n_orgs, 0)), np.zeros(0, dtype=np.int64))
    m.upkeep.snapshot_ = Snapshot(-1, index, lex, cat, no_graph)  # type: ignore[arg-type]
    params = faiss.SearchParametersIVF(nprobe=IVF_NPROBE)
    rng = np.random.default_rng(2)
    shapes = {
        "search": lambda i: Filters(),
        "suggestions": lambda i: Filters(kinds=["sme", "large_company", "research_institute"],
                                         exclude_ids=[int(rng.integers(cat.n_orgs))]),
        "partners": lambda i: Filters(exclude_ids=rng.integers(cat.n_orgs, size=20).tolist()),
    }
    from dataclasses import replace

    from matcher.ranking.pipeline import Pipeline

    cap = m.pipeline.config.lexical_terms
    every_term = Pipeline(replace(m.pipeline.config, lexical_terms=0), None)  # BM25 over all the question's terms
    res: dict[str, object] = {"lexical_terms": cap}
    ref_embed, ref_faiss, ref_deep, lexical, lexical_all = [], [], [], [], []
    vectors = {}
    for text in texts:
        t_e = time.perf_counter()
        vectors[text] = encoder.encode_queries([text])[0]
        ref_embed.append((time.perf_counter() - t_e) * 1000)
    snap = m.upkeep.snapshot_
    for name, make in shapes.items():
        stages, old, every, same, shared = [], [], [], 0, []
        for i, text in enumerate(texts):
            qv = vectors[text]
            if name == "search":
                ref_faiss.append(timed(lambda qv=qv: index._index.search(qv[None, :], 10, params=params)))
                ref_deep.append(timed(lambda qv=qv: index.search(qv, m.pipeline.config.depth)))
                lexical.append(timed(lambda text=text: lex.matches(text, terms=cap)))
                lexical_all.append(timed(lambda text=text: lex.matches(text)))
            query = Query(text, 10, make(i))
            out: dict[str, object] = {}
            stages.append(timed(lambda query=query, qv=qv, out=out: out.update(
                new=m.rank_with_vector(query, qv, explain=False))))
            old.append(timed(lambda query=query, qv=qv, out=out: out.update(
                old=full_array_retrieve(snap, query, qv, m.pipeline.config))))
            every.append(timed(lambda query=query, qv=qv, out=out: out.update(
                every=m.rank_with_vector(query, qv, explain=False, pipeline=every_term))))
            top = [s.organisation.id for s in out["new"]]  # type: ignore[attr-defined]
            same += top == cat.org_ids[out["old"].order[:10]].tolist()  # type: ignore[attr-defined]
            shared.append(len(set(top) & {s.organisation.id for s in out["every"]}))  # type: ignore[attr-defined]
        res[name] = summary(stages)
        res[f"{name}_full_arrays"] = summary(old)
        res[f"{name}_every_term"] = summary(every)
        res[f"{name}_identical_top10"] = f"{same}/{len(texts)}"
        res[f"{name}_top10_shared_with_every_term"] = round(float(np.mean(shared)), 2)
        print(f"pipeline {name}: {res[name]}; full arrays (before): {res[f'{name}_full_arrays']}; "
              f"identical top 10: {same}/{len(texts)}; every term: {res[f'{name}_every_term']} "
              f"(top 10 shared: {res[f'{name}_top10_shared_with_every_term']})", flush=True)
    res["reference_embed_ms"] = summary(ref_embed)
    res["reference_bare_faiss_ms"] = summary(ref_faiss)
    res["reference_dense_at_depth_ms"] = summary(ref_deep)
    res["lexical_matches_ms"] = summary(lexical)
    res["lexical_matches_every_term_ms"] = summary(lexical_all)
    res["ratio_p50_vs_full_arrays"] = {k: round(res[k]["p50"] / res[f"{k}_full_arrays"]["p50"], 3)  # type: ignore[index]
                                       for k in shapes}
    res["ratio_p50_vs_dense_at_depth"] = {k: round(res[k]["p50"] / res["reference_dense_at_depth_ms"]["p50"], 2)  # type: ignore[index]
                                          for k in shapes}
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="20,000 vectors, use-m3, few queries (smoke test)")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--nprobe", default="8,16,32,64")
    parser.add_argument("--pipeline-queries", type=int, default=20, help="queries per shape through the pipeline")
    parser.add_argument("--short-queries", action="store_true",
                        help="pipeline queries are short free-text needs (search-box size), not project texts")
    parser.add_argument("--variants", default="", help="compressed IVF lists to compare, e.g. SQ8,SQfp16")
    parser.add_argument("--no-pipeline", action="store_true", help="index figures only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.small:
        args.n, args.queries, args.model = min(args.n, 20_000), min(args.queries, 5), "use-m3"
    print(machine_line(), flush=True)
    encoder = load_encoder(args.model)
    base, texts, store = real_base(args, encoder)
    t0 = time.perf_counter()
    x = synthetic(base, args.n)
    q = encoder.encode_queries(texts)
    result: dict[str, object] = {"n": args.n, "dim": int(x.shape[1]), "model": encoder.model_id,
                                 "real_base_vectors": len(base), "queries": len(texts),
                                 "generate_s": round(time.perf_counter() - t0, 1),
                                 "median_cos_to_base": round(float(np.median(
                                     np.sum(x[:2000] * base[np.arange(2000) % len(base)], 1))), 3)}
    print(f"synthetic: {args.n} x {x.shape[1]} from {len(base)} real vectors in {result['generate_s']} s", flush=True)
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    t0 = time.perf_counter()
    truth = flat.search(q, 10)[1]
    result["exact_batch_s"] = round(time.perf_counter() - t0, 2)
    result["exact_single_ms"] = summary([timed(lambda row=row, flat=flat: flat.search(row[None, :], 10))
                                         for row in q[:5]])
    del flat
    gc.collect()
    print(f"exact: single query {result['exact_single_ms']}", flush=True)
    measured = measure_index(x, q, truth, [int(v) for v in args.nprobe.split(",")])
    index = measured.pop("index")
    result["approximate"] = measured
    print(f"approximate index: {json.dumps(measured)}", flush=True)
    if args.variants:
        result["variants"] = measure_variants(index, x, q, truth, args.variants.split(","),  # type: ignore[arg-type]
                                              [int(v) for v in args.nprobe.split(",")][:2])
    if args.no_pipeline:
        print("RESULT " + json.dumps(result))
        return
    del x
    gc.collect()
    if store is not None:
        m = Matcher(store, encoder, None)
        m.sync()
        snap = m.upkeep.current()
        cat, lex = replicated_catalogue(snap.catalogue, args.n), tiled_lexical(snap.lexical, args.n)
    else:
        rng = np.random.default_rng(3)
        n_orgs = args.n // 3
        link_org = np.sort(rng.integers(0, n_orgs, args.n * 3))
        link_doc = rng.integers(0, args.n, args.n * 3)
        kinds = np.resize(np.asarray(["sme", "university", "hospital"], dtype=object), n_orgs)
        cat = Catalogue(np.arange(args.n), np.arange(n_orgs), kinds, kinds, kinds, np.zeros(n_orgs, bool),
                        np.resize(np.asarray(["public"], dtype=object), n_orgs), link_doc, link_org,
                        np.searchsorted(link_org, np.arange(n_orgs + 1)))
        lex = tiled_lexical(LexicalIndex().fit([0, 1], ["wearable sensor", "patient monitoring"]), args.n)
    result["catalogue"] = {"documents": len(cat.doc_ids), "organisations": cat.n_orgs, "links": len(cat.link_doc)}
    if args.short_queries:
        from http_search import SHORT_QUERIES

        texts = (SHORT_QUERIES * (args.pipeline_queries // len(SHORT_QUERIES) + 1))
    result["pipeline_ms"] = pipeline(index, cat, lex, encoder, texts[:args.pipeline_queries], store)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(result))
        return
    print(f"catalogue: {result['catalogue']}")
    for k, v in result["pipeline_ms"].items():  # type: ignore[attr-defined]
        print(f"pipeline {k}: {v}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
