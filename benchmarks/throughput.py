"""Import and embedding throughput (texts per second) against the bare model encode on the same texts,
and MiniLM's cost per text on each backend (sentence-transformers on torch, ONNX Runtime fp32 and int8).

The pipeline: a CORDIS subset imported into a fresh store (no vector cache), then
``Matcher.embed_missing`` (batched ``encode_documents``, normalisation, concatenation, storing the
vectors). The reference: each part's bare encode on the same texts (the encoders' own ONNX Runtime calls, one
text each, for MiniLM and use-m3). The reference is timed
before and after the pipeline and averaged, so drift of the machine's load cancels out.

The backends (``--backends``): one text per call, as a query is encoded, for short texts (project
titles) and 1,000-character texts (title and objective cut to 1,000 characters), the backends taking
turns on each text so that the machine's load falls on all alike; and the same long texts as
documents (``encode_documents``: torch in batches of 32, ONNX one text per call), in texts per second.
Each backend uses ``MATCHER_THREADS`` threads (default: every core).

    .venv/bin/python benchmarks/throughput.py --texts 96 --backends torch,fp32,int8
    .venv/bin/python benchmarks/throughput.py --small
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import SHARED, machine_line, summary, timed

from matcher.config import DEFAULT_MODEL
from matcher.engine import Matcher
from matcher.ingest.cordis import CordisData, import_cordis
from matcher.retrieval.embed import MiniLMEncoder, MiniLMTorchEncoder, USEEncoder, default_threads, load_encoder
from matcher.storage.store import Store


def bare_encode(encoder, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Seconds the parts' bare models take on ``texts`` (the same batch sizes as the pipeline)."""
    t0 = time.perf_counter()
    for part in getattr(encoder, "parts", None) or [encoder]:
        if isinstance(part, (MiniLMEncoder, USEEncoder)):  # the ONNX session's calls (cut, run, pool), one per text
            part._encode(texts)
            continue
        model = part._model
        if hasattr(model, "get_sentence_embedding_dimension"):  # SentenceTransformer
            model.encode(texts, batch_size=part.batch_size, show_progress_bar=False, convert_to_numpy=True)
        else:
            for i in range(0, len(texts), part.batch_size):
                model.encode(texts[i:i + part.batch_size])
    return time.perf_counter() - t0


BACKENDS = {"torch": MiniLMTorchEncoder, "fp32": MiniLMEncoder, "int8": lambda: MiniLMEncoder("int8")}


def backend_costs(names: list[str], short: list[str], long: list[str]) -> dict[str, dict[str, float]]:
    """Per backend: ms per text (one text per call) for ``short`` and ``long`` texts, and texts/s in batches."""
    encoders = {n: BACKENDS[n]() for n in names}
    ms: dict[str, dict[str, list[float]]] = {n: {"short": [], "long": []} for n in names}
    for e in encoders.values():
        e.encode_queries(short[:1] + long[:1])  # warm-up
    for shape, texts in (("short", short), ("long", long)):
        for text in texts:
            for n, e in encoders.items():  # taking turns: the load at this moment falls on every backend
                ms[n][shape].append(timed(lambda e=e, text=text: e.encode_queries([text])))
    out = {n: {"short_ms_p50": summary(ms[n]["short"])["p50"], "short_ms_mean": summary(ms[n]["short"])["mean"],
               "long_ms_p50": summary(ms[n]["long"])["p50"], "long_ms_mean": summary(ms[n]["long"])["mean"]}
           for n in names}
    for n, e in encoders.items():
        seconds = timed(lambda e=e: e.encode_documents(long)) / 1000
        out[n]["long_batched_texts_per_s"] = round(len(long) / seconds, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="8 texts, use-m3 (smoke test)")
    parser.add_argument("--texts", type=int, default=96, help="project texts to import and embed")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--backends", default="torch,fp32,int8",
                        help="MiniLM backends to compare per text: torch, fp32, int8 (empty: none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.small:
        args.texts, args.model, args.backends = 8, "use-m3", "torch,fp32"
    print(machine_line(), flush=True)
    encoder = load_encoder(args.model)
    data = CordisData.read(SHARED / "cordis_health")
    keep = set(sorted(data.projects)[: args.texts])
    data = data.subset(lambda p: p["project_id"] in keep)
    with tempfile.TemporaryDirectory(prefix="matcher-bench-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'tp.db'}")
        t0 = time.perf_counter()
        import_cordis(store, data)
        import_s = time.perf_counter() - t0
        texts = [x for _h, x in store.texts_without_vectors(encoder.model_id)]
        bare_encode(encoder, texts[:4])  # warm-up
        before = bare_encode(encoder, texts)
        t0 = time.perf_counter()
        n = Matcher(store, encoder, None).embed_missing()
        embed_s = time.perf_counter() - t0
        after = bare_encode(encoder, texts)
    ref_s = (before + after) / 2
    projects = [data.projects[k] for k in sorted(keep)]
    backends = [b for b in args.backends.split(",") if b]
    costs = backend_costs(backends, [p["title"] for p in projects],
                          [f"{p['title']}. {p['objective']}"[:1000] for p in projects]) if backends else {}
    r = {"model": encoder.model_id, "texts": n, "mean_chars": round(sum(map(len, texts)) / max(1, len(texts))),
         "import_s": round(import_s, 2), "pipeline_embed_texts_per_s": round(n / embed_s, 2),
         "pipeline_import_and_embed_texts_per_s": round(n / (embed_s + import_s), 2),
         "bare_encode_texts_per_s": round(len(texts) / ref_s, 2),
         "bare_encode_s_before_after": [round(before, 2), round(after, 2)],
         "ratio_embed": round((n / embed_s) / (len(texts) / ref_s), 3),
         "ratio_import_and_embed": round((n / (embed_s + import_s)) / (len(texts) / ref_s), 3),
         "backends": costs, "threads": default_threads()}
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['texts']} project texts (mean {r['mean_chars']} characters), model {r['model']}")
    print(f"  bare encode:                {r['bare_encode_texts_per_s']} texts/s "
          f"(before/after: {r['bare_encode_s_before_after']} s)")
    print(f"  pipeline embedding:         {r['pipeline_embed_texts_per_s']} texts/s  ratio {r['ratio_embed']}")
    print(f"  pipeline import + embedding: {r['pipeline_import_and_embed_texts_per_s']} texts/s  "
          f"ratio {r['ratio_import_and_embed']} (import {r['import_s']} s)")
    if costs:
        print(f"MiniLM per text, one text per call ({r['threads']} threads); p50 (mean) ms, and batched texts/s:")
        for name, c in costs.items():
            print(f"  {name:6s} short {c['short_ms_p50']:7.1f} ({c['short_ms_mean']:.1f})   1,000 characters "
                  f"{c['long_ms_p50']:7.1f} ({c['long_ms_mean']:.1f})   "
                  f"batched {c['long_batched_texts_per_s']} texts/s")
    print("RESULT " + json.dumps(r))


if __name__ == "__main__":
    main()
