"""Start-up: time from process start to ``/ready`` with a catalogue already indexed, and peak RSS.

The catalogue store (``var/bench/<name>/matcher.db``, built by the other benchmarks) is served from
a ``MATCHER_HOME`` under ``var/bench/home-<name>``; ``matcher index`` is run once first (untimed) so
the saved index matches. Then ``matcher serve`` (one worker) is started ``--runs`` times; each time
the wall clock from ``Popen`` to the first 200 of ``/ready`` is recorded, and the peak RSS
(``VmHWM``) of the process once it is ready, and whether it has torch's library mapped. The
reference, in the same run: a bare process that imports the same libraries, loads the same encoder
and reads the same faiss file.

    .venv/bin/python benchmarks/startup.py --catalogue health --runs 3
    .venv/bin/python benchmarks/startup.py --catalogue demo --runs 3
    .venv/bin/python benchmarks/startup.py --small
    .venv/bin/python benchmarks/startup.py --catalogue he_all --synthetic-vectors --runs 3

``--synthetic-vectors`` gives every text of the catalogue that has no vector yet a random unit
vector under the model's id instead of embedding it (he_all takes the better part of an hour to
embed on two cores). Start-up reads vectors, never their values, so the time and memory it measures
are those of the real catalogue; search results on such a store mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import BENCH_HOME, ROOT, machine_line, summary
from http_search import free_port, start_server, stop_server

from matcher.config import DEFAULT_MODEL

REFERENCE = ("import sys, faiss; from matcher.retrieval.embed import load_encoder; load_encoder(sys.argv[1]); "
             "faiss.read_index(sys.argv[2])")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def torch_loaded(pid: int) -> bool:
    """Whether the process has torch's shared library mapped (the serving process should not)."""
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def fill_synthetic_vectors(db: Path, model: str) -> int:
    """Random unit vectors for the texts of the store at ``db`` that have none for ``model``."""
    import numpy as np

    from matcher.retrieval.embed import load_encoder
    from matcher.storage.store import Store

    store, encoder = Store(f"sqlite:///{db.resolve()}"), load_encoder(model)
    todo = store.texts_without_vectors(encoder.model_id)
    rng = np.random.default_rng(0)
    for i in range(0, len(todo), 2048):
        chunk = [h for h, _x in todo[i:i + 2048]]
        x = rng.normal(size=(len(chunk), encoder.dim)).astype(np.float32)
        store.put_vectors(encoder.model_id, chunk, x / np.linalg.norm(x, axis=1, keepdims=True))
    return len(todo)


def start_once(env: dict[str, str], timeout: float, code: Path = ROOT, settle: float = 0.0
               ) -> tuple[float, float, bool, float]:
    port = free_port()
    t0 = time.perf_counter()
    server = start_server(env, port, cwd=code)
    try:
        while time.perf_counter() - t0 < timeout:
            if server.poll() is not None:
                raise SystemExit(f"server exited with {server.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    ready, peak, torch = time.perf_counter() - t0, peak_rss_mb(server.pid), torch_loaded(server.pid)
                    time.sleep(settle)  # what is read in the background after ready (the ranker) counts too
                    return ready, peak, torch, peak_rss_mb(server.pid)
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"not ready within {timeout} s")
    finally:
        stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="an empty catalogue, use-m3, one run (smoke)")
    parser.add_argument("--catalogue", default="he_all",
                        help="he_all or health (var/bench/cordis_<name>), or demo (loaded with its shipped vectors)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--synthetic-vectors", action="store_true",
                        help="random vectors for texts without one (start-up does not read their values)")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds after ready before the peak RSS is read again (background loading)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another checkout (an earlier commit) started in turn with this one, same catalogue")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    tmp = tempfile.TemporaryDirectory(prefix="matcher-bench-")
    if args.small:
        args.model, args.runs, home, db = "use-m3", 1, Path(tmp.name), Path(tmp.name) / "matcher.db"
    elif args.catalogue == "demo":
        home = BENCH_HOME / "home-demo"
        db = home / "matcher.db"
        if not db.exists():
            home.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "matcher", "demo", "--json"], cwd=ROOT, check=True, timeout=1800,
                           capture_output=True, env={**os.environ, "MATCHER_HOME": str(home),
                                                     "MATCHER_MODEL": args.model,
                                                     "MATCHER_DATABASE_URL": f"sqlite:///{db.resolve()}"})
    else:
        db = BENCH_HOME / f"cordis_{args.catalogue}" / "matcher.db"
        home = BENCH_HOME / f"home-{args.catalogue}"
        if args.synthetic_vectors:
            from common import SHARED, catalogue_store

            catalogue_store(SHARED / f"cordis_{args.catalogue}", None)
            print(f"synthetic vectors for {fill_synthetic_vectors(db, args.model)} texts", flush=True)
        if not db.exists():
            raise SystemExit(f"{db} is missing: run benchmarks/query_latency.py --catalogues {args.catalogue} first")
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MATCHER_HOME": str(home), "MATCHER_MODEL": args.model,
           "MATCHER_DATABASE_URL": f"sqlite:///{db.resolve()}"}
    info = json.loads(subprocess.run([sys.executable, "-m", "matcher", "index", "--json"], cwd=ROOT, env=env,
                                     capture_output=True, text=True, timeout=1800, check=True).stdout.splitlines()[-1])
    index_file = home / "index" / args.model.replace("+", "_") / "index.faiss"
    ready, rss, ref, torch = [], [], [], []
    settled: list[float] = []  # peak RSS --settle seconds after ready
    compared: list[tuple[float, float, float]] = []  # (ready ms, peak RSS MB, settled) of the --compare checkout
    for _ in range(args.runs):
        t0 = time.perf_counter()
        if index_file.exists():
            subprocess.run([sys.executable, "-c", REFERENCE, args.model, str(index_file)], cwd=ROOT, env=env,
                           check=True, capture_output=True, timeout=600)
        ref.append((time.perf_counter() - t0) * 1000)
        seconds, peak, with_torch, later = start_once(env, timeout=600, settle=args.settle)
        ready.append(seconds * 1000)
        rss.append(peak)
        settled.append(later)
        torch.append(with_torch)
        if args.compare:
            other = start_once({**env, "PYTHONPATH": str(args.compare)}, timeout=600, code=args.compare,
                               settle=args.settle)
            compared.append((other[0] * 1000, other[1], other[3]))
    tmp.cleanup()
    r = {"catalogue": "empty" if args.small else args.catalogue, "model": info["model"], "vectors": info["vectors"],
         "index_kind": info["kind"], "runs": args.runs, "ready_ms": summary(ready), "reference_ms": summary(ref),
         "ratio_p50": round(summary(ready)["p50"] / max(summary(ref)["p50"], 1e-9), 2),
         "peak_rss_mb": round(max(rss), 1), "peak_rss_settled_mb": round(max(settled), 1),
         "settle_s": args.settle, "torch_loaded": any(torch)}
    if compared:
        r["compare"] = {"checkout": str(args.compare), "ready_ms": summary([c[0] for c in compared]),
                        "peak_rss_mb": round(max(c[1] for c in compared), 1),
                        "peak_rss_settled_mb": round(max(c[2] for c in compared), 1),
                        "ratio_p50_this_vs_compare": round(summary(ready)["p50"] / summary(
                            [c[0] for c in compared])["p50"], 2)}
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['catalogue']}: {r['vectors']} vectors ({r['index_kind']}), model {r['model']}, {r['runs']} starts")
    print(f"  process start -> /ready:  p50 {r['ready_ms']['p50'] / 1000:.2f} s  "  # type: ignore[index]
          f"(max {max(ready) / 1000:.2f} s)")
    print(f"  reference (imports + model + faiss file): p50 {r['reference_ms']['p50'] / 1000:.2f} s; "  # type: ignore[index]
          f"ratio {r['ratio_p50']}")
    print(f"  peak RSS of the service: {r['peak_rss_mb']} MB at ready, {r['peak_rss_settled_mb']} MB "
          f"{args.settle:g} s later; torch loaded: {r['torch_loaded']}")
    if compared:
        print(f"  {args.compare}, started in turn: {json.dumps(r['compare'])}")
    print("RESULT " + json.dumps(r))


if __name__ == "__main__":
    main()
