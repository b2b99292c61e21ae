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


def start_once(env: dict[str, str], timeout: float) -> tuple[float, float, bool]:
    port = free_port()
    t0 = time.perf_counter()
    server = start_server(env, port)
    try:
        while time.perf_counter() - t0 < timeout:
            if server.poll() is not None:
                raise SystemExit(f"server exited with {server.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    return (time.perf_counter() - t0), peak_rss_mb(server.pid), torch_loaded(server.pid)
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
    parser.add_argument("--model", default="minilm+use-m3")
    parser.add_argument("--runs", type=int, default=3)
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
        if not db.exists():
            raise SystemExit(f"{db} is missing: run benchmarks/query_latency.py --catalogues {args.catalogue} first")
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MATCHER_HOME": str(home), "MATCHER_MODEL": args.model,
           "MATCHER_DATABASE_URL": f"sqlite:///{db.resolve()}"}
    info = json.loads(subprocess.run([sys.executable, "-m", "matcher", "index", "--json"], cwd=ROOT, env=env,
                                     capture_output=True, text=True, timeout=1800, check=True).stdout.splitlines()[-1])
    index_file = home / "index" / args.model.replace("+", "_") / "index.faiss"
    ready, rss, ref, torch = [], [], [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        if index_file.exists():
            subprocess.run([sys.executable, "-c", REFERENCE, args.model, str(index_file)], cwd=ROOT, env=env,
                           check=True, capture_output=True, timeout=600)
        ref.append((time.perf_counter() - t0) * 1000)
        seconds, peak, with_torch = start_once(env, timeout=600)
        ready.append(seconds * 1000)
        rss.append(peak)
        torch.append(with_torch)
    tmp.cleanup()
    r = {"catalogue": "empty" if args.small else args.catalogue, "model": info["model"], "vectors": info["vectors"],
         "index_kind": info["kind"], "runs": args.runs, "ready_ms": summary(ready), "reference_ms": summary(ref),
         "ratio_p50": round(summary(ready)["p50"] / max(summary(ref)["p50"], 1e-9), 2),
         "peak_rss_mb": round(max(rss), 1), "torch_loaded": any(torch)}
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['catalogue']}: {r['vectors']} vectors ({r['index_kind']}), model {r['model']}, {r['runs']} starts")
    print(f"  process start -> /ready:  p50 {r['ready_ms']['p50'] / 1000:.2f} s  "  # type: ignore[index]
          f"(max {max(ready) / 1000:.2f} s)")
    print(f"  reference (imports + model + faiss file): p50 {r['reference_ms']['p50'] / 1000:.2f} s; "  # type: ignore[index]
          f"ratio {r['ratio_p50']}")
    print(f"  peak RSS of the service: {r['peak_rss_mb']} MB; torch loaded: {r['torch_loaded']}")
    print("RESULT " + json.dumps(r))


if __name__ == "__main__":
    main()
