"""HTTP throughput: search requests per second and p50/p99 with two workers, concurrent clients, loopback.

Reuses ``benchmarks/http_search.py`` (demo data in a temporary ``MATCHER_HOME``, its query
texts, its helpers) and adds what it does not measure: ``matcher serve --workers 2`` driven by
``--clients`` concurrent keep-alive connections (threads with httpx), bounded by ``--requests``
and ``--max-seconds``. The reference, in the same run: the same requests to ``GET /health``
(the HTTP stack without matching). Nothing leaves 127.0.0.1.

With ``--texts titles`` every request is a distinct real project title (under 200 characters, none
repeated). With ``--texts long`` every request is a distinct 1,000-character text (real CORDIS health project
titles and objectives, cut at 1,000 characters, none repeated, so no cache helps), and a second
reference is measured in the same run after the server stopped: a bare sentence-transformers MiniLM
loop (torch, one text per call, every core) over the first ``--bare`` of the same texts. Its rate
against the service's is the issue's yardstick for the encoder's share.

    .venv/bin/python benchmarks/http_load.py --requests 600 --clients 8
    .venv/bin/python benchmarks/http_load.py --texts long --requests 400 --clients 8
    .venv/bin/python benchmarks/http_load.py --small

With ``--against CHECKOUT`` (another working tree of the repository, for example ``git worktree add
/tmp/before COMMIT``), servers from this checkout and from that one take turns for ``--rounds`` rounds
over the same demo home, each round on texts not used before, so that a change is measured against
its parent on the same machine in the same minutes (the machine's speed drifts between runs):

    .venv/bin/python benchmarks/http_load.py --texts titles --requests 900 --against /tmp/before --rounds 3

With ``--against-model MODEL`` the other side runs ``MODEL`` instead of ``--model`` (from ``--against``'s
checkout when given, else this one), to compare two encoders the same way:

    .venv/bin/python benchmarks/http_load.py --texts long --requests 300 --against-model minilm-int8+use-m3

Beside the rates, each run records the CPU time spent per search request: by the server (every process of its
process group, from ``/proc``) and by the load client (this process, ``getrusage``). On a shared machine whose
speed drifts from minute to minute, CPU per request moves much less than requests per second.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import SHARED, machine_line, summary
from http_search import ROOT, demo_env, free_port, queries, start_server, stop_server, wait_ready

from matcher.config import DEFAULT_MODEL


def drive(url: str, key: str, path: str, texts: list[str], total: int, clients: int, max_s: float
          ) -> tuple[list[float], float]:
    lat: list[float] = []
    lock, counter = threading.Lock(), [0]
    stop_at = time.monotonic() + max_s

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            while time.monotonic() < stop_at:
                with lock:
                    i = counter[0]
                    counter[0] += 1
                if i >= total:
                    return
                t0 = time.perf_counter()
                r = (c.post(path, json={"text": texts[i % len(texts)], "k": 10}) if path.startswith("/v1")
                     else c.get(path))
                ms = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                with lock:
                    lat.append(ms)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, time.perf_counter() - t0


def group_cpu_seconds(pgid: int) -> float | None:
    """User and system CPU seconds of the live processes in process group ``pgid`` (None without ``/proc``)."""
    if not Path("/proc/self/stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp, ..., utime (12th), stime (13th)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def long_texts() -> list[str]:
    """Distinct real 1,000-character texts: health project titles and objectives, in project id order."""
    from matcher.ingest.cordis import CordisData

    projects = sorted(CordisData.read(SHARED / "cordis_health").projects.values(), key=lambda p: p["project_id"])
    texts = [f"{p['title']}. {p['objective']}"[:1000] for p in projects]
    return list(dict.fromkeys(t for t in texts if len(t) == 1000))


def titles() -> list[str]:
    """Distinct real short texts: health project titles under 200 characters, in project id order."""
    from matcher.ingest.cordis import CordisData

    projects = sorted(CordisData.read(SHARED / "cordis_health").projects.values(), key=lambda p: p["project_id"])
    return list(dict.fromkeys(p["title"] for p in projects if 0 < len(p["title"]) < 200))


def bare_sentence_transformers(texts: list[str]) -> float:
    """Texts per second of a bare sentence-transformers MiniLM loop, one text per call."""
    from matcher.retrieval.embed import MiniLMTorchEncoder

    model = MiniLMTorchEncoder()._model
    model.encode(texts[:2])
    t0 = time.perf_counter()
    for text in texts:
        model.encode([text])
    return len(texts) / (time.perf_counter() - t0)


def serve_and_drive(args: argparse.Namespace, env: dict[str, str], key: str, warm: list[str], texts: list[str],
                    cwd: Path = ROOT) -> tuple[dict[str, object], dict[str, object]]:
    """A server from checkout ``cwd``: warmed up on ``warm``, then ``texts`` searched and ``GET /health`` as the
    reference; its ``/ready`` answer and the figures."""
    port = free_port()
    server = start_server(env, port, args.workers, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(url, server, timeout=300)
        drive(url, key, "/v1/search", warm, args.warmup, args.clients, 60)  # warm-up: both workers load
        server_cpu, client_cpu = group_cpu_seconds(server.pid), own_cpu_seconds()
        lat, wall = drive(url, key, "/v1/search", texts, args.requests, args.clients, args.max_seconds)
        server_after, client_cpu = group_cpu_seconds(server.pid), own_cpu_seconds() - client_cpu
        ref, ref_wall = drive(url, key, "/health", texts, args.requests, args.clients, args.max_seconds)
    finally:
        stop_server(server)
    cpu = {"server_cpu_ms_per_search": round(1000 * (server_after - server_cpu) / len(lat), 2)
           if server_cpu is not None and server_after is not None and lat else None,
           "client_cpu_ms_per_search": round(1000 * client_cpu / len(lat), 2) if lat else None}
    return ready, {"requests": len(lat), "search_rps": round(len(lat) / wall, 1), "search_ms": summary(lat), **cpu,
                   "reference_health_rps": round(len(ref) / ref_wall, 1), "reference_health_ms": summary(ref)}


def run(args: argparse.Namespace, home: Path) -> dict[str, object]:
    env, key = demo_env(home, args.model)
    if args.texts in ("long", "titles"):
        pool = long_texts() if args.texts == "long" else titles()
        warm, texts = pool[:args.warmup], pool[args.warmup:args.warmup + args.requests]
    else:
        warm = texts = queries()
    ready, figures = serve_and_drive(args, env, key, warm, texts)
    r: dict[str, object] = {"model": ready.get("model"), "vectors": ready.get("vectors"), "workers": args.workers,
                            "clients": args.clients, "texts": args.texts, **figures}
    if args.texts == "long" and args.bare:
        bare = bare_sentence_transformers(texts[:args.bare])
        r.update({"reference_bare_st_texts_per_s": round(bare, 2),
                  "ratio_search_to_bare_st": round(float(figures["search_rps"]) / bare, 2)})  # type: ignore[arg-type]
    return r


def compare(args: argparse.Namespace, home: Path) -> dict[str, object]:
    """Rounds in which this checkout's server and ``--against``'s take turns; rates and latencies per round."""
    env, key = demo_env(home, args.model)
    envs = {"this": env, "against": {**env, "MATCHER_MODEL": args.against_model or args.model}}
    pool = long_texts() if args.texts == "long" else titles() if args.texts == "titles" else queries()
    sides = {"this": ROOT, "against": Path(args.against or ROOT).resolve()}
    rounds: dict[str, list[dict[str, object]]] = {name: [] for name in sides}
    for r in range(args.rounds):
        start = args.warmup + r * args.requests
        texts = pool[start:start + args.requests] if args.texts != "demo" else pool
        if len(texts) < args.requests and args.texts != "demo":
            raise SystemExit(f"only {len(pool)} distinct texts: fewer requests or rounds")
        for name, cwd in sides.items():
            rounds[name].append(serve_and_drive(args, envs[name], key, pool[:args.warmup], texts, cwd)[1])
            print(f"round {r + 1} {name}: {rounds[name][-1]['search_rps']} req/s, server CPU "
                  f"{rounds[name][-1]['server_cpu_ms_per_search']} ms per search", flush=True)
    mean = {name: round(sum(x["search_rps"] for x in v) / len(v), 1) for name, v in rounds.items()}  # type: ignore[misc]
    cpus = {name: [x["server_cpu_ms_per_search"] for x in v] for name, v in rounds.items()}
    cpu = ({name: round(sum(c) / len(c), 2) for name, c in cpus.items()}  # type: ignore[arg-type]
           if all(c is not None for v in cpus.values() for c in v) else None)
    bare: dict[str, object] = {}
    if args.texts == "long" and args.bare:  # after the servers stopped, on the first round's texts
        rate = bare_sentence_transformers(pool[args.warmup:args.warmup + args.bare])
        bare = {"reference_bare_st_texts_per_s": round(rate, 2),
                "ratio_search_to_bare_st": {name: round(m / rate, 2) for name, m in mean.items()}}
    return {**bare, "model": args.model, "against_model": args.against_model or args.model, "texts": args.texts,
            "workers": args.workers, "clients": args.clients, "against": str(sides["against"]), "rounds": rounds,
            "mean_search_rps": mean, "mean_server_cpu_ms_per_search": cpu,
            "this_over_against": round(mean["this"] / mean["against"], 2),
            **({"server_cpu_this_over_against": round(cpu["this"] / cpu["against"], 2)} if cpu else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="use-m3, 10 requests, 2 clients (smoke)")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--texts", choices=["demo", "titles", "long"], default="demo",
                        help="demo: challenges and short needs (repeated); titles: distinct project titles; "
                             "long: distinct 1,000-character texts")
    parser.add_argument("--bare", type=int, default=60, help="texts of the bare sentence-transformers reference")
    parser.add_argument("--against", help="another checkout whose server takes turns with this one's")
    parser.add_argument("--against-model", help="the model of the other side's server (default: --model)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of turns with --against")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.small:
        args.requests, args.clients, args.warmup, args.model = 10, 2, 2, "use-m3"
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="matcher-bench-") as tmp:
        if args.against or args.against_model:
            c = compare(args, Path(tmp))
            print("RESULT " + json.dumps(c))
            return
        r = run(args, Path(tmp))
    if args.json:
        print(json.dumps(r))
        return
    print(f"demo: {r['vectors']} vectors, model {r['model']}; {r['workers']} workers, {r['clients']} clients")
    s, h = r["search_ms"], r["reference_health_ms"]
    print(f"  POST /v1/search: {r['search_rps']} req/s, p50 {s['p50']} ms, p99 {s['p99']} ms "  # type: ignore[index]
          f"({r['requests']} requests)")
    print(f"  GET /health (reference): {r['reference_health_rps']} req/s, p50 {h['p50']} ms, "  # type: ignore[index]
          f"p99 {h['p99']} ms")
    if "reference_bare_st_texts_per_s" in r:
        print(f"  bare sentence-transformers loop (reference): {r['reference_bare_st_texts_per_s']} texts/s; "
              f"the service serves {r['ratio_search_to_bare_st']}x that rate")
    print("RESULT " + json.dumps(r))


if __name__ == "__main__":
    main()
