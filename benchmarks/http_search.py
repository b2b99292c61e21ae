"""Latency of ``POST /v1/search`` over HTTP on the demo data (loopback only, bounded).

Loads the demo (``matcher demo``) into a temporary ``MATCHER_HOME`` (or uses ``--home``),
starts ``matcher serve`` on a free loopback port, sends ``--requests`` searches one after
another on one keep-alive connection (the demo challenges' texts and a few short queries,
in turn, k=10) after a warm-up, and prints the machine, the data size and p50/p90/p99.
Stops after ``--max-seconds`` whatever the count. Nothing leaves 127.0.0.1.

    .venv/bin/python benchmarks/http_search.py --requests 300
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from matcher.config import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent
SHORT_QUERIES = ["microneedle patch for insulin delivery", "wearable ECG remote monitoring",
                 "MRI-compatible surgical robot", "valdetectie bij ouderen thuis", "organ-on-chip drug testing",
                 "AI for pathology slides", "revalidatie na een beroerte met exoskelet", "CE marking under MDR"]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def matcher(args: list[str], env: dict[str, str], timeout: float) -> str:
    done = subprocess.run([sys.executable, "-m", "matcher", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=True)
    return done.stdout


def queries() -> list[str]:
    items = json.loads((ROOT / "data" / "demo" / "challenges.json").read_text(encoding="utf-8"))
    long = [f"{c['title']}. {c['description']}" for c in items]
    return [q for pair in zip(long, SHORT_QUERIES * 2) for q in pair] or SHORT_QUERIES


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def demo_env(home: Path, model: str) -> tuple[dict[str, str], str]:
    """The environment of a server over the demo in ``home`` (loaded on first use) and a viewer key."""
    env = {**os.environ, "MATCHER_HOME": str(home), "MATCHER_MODEL": model}
    env.pop("MATCHER_DATABASE_URL", None)
    if not (home / "matcher.db").exists():
        matcher(["demo", "--json"], env, timeout=900)
    key = matcher(["keys", "create", "--role", "viewer", "--label", "benchmark"], env, 120).strip().splitlines()[-1]
    return env, key


def start_server(env: dict[str, str], port: int, workers: int = 1, log: Path | None = None,
                 cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """``matcher serve`` on 127.0.0.1:``port`` in its own process group (stop it with :func:`stop_server`);
    ``cwd`` is the checkout whose code runs (another one to compare versions)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT if log else subprocess.DEVNULL, start_new_session=True)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL after 20 s."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def run(args: argparse.Namespace, home: Path) -> dict[str, object]:
    env, key = demo_env(home, args.model)
    port = free_port()
    server = start_server(env, port, log=home / "bench-server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(url, server, timeout=300)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            texts = queries()
            for i in range(args.warmup):
                client.post("/v1/search", json={"text": texts[i % len(texts)], "k": 10}).raise_for_status()
            latencies: list[float] = []
            stop_at = time.monotonic() + args.max_seconds
            while len(latencies) < args.requests and time.monotonic() < stop_at:
                text = texts[len(latencies) % len(texts)]
                t0 = time.perf_counter()
                r = client.post("/v1/search", json={"text": text, "k": 10})
                latencies.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
    finally:
        stop_server(server)
    return {"cores": os.cpu_count(), "cpu": cpu_name(), "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "model": ready.get("model"), "vectors": ready.get("vectors"), "requests": len(latencies),
            "k": 10, "p50_ms": round(percentile(latencies, 50), 1), "p90_ms": round(percentile(latencies, 90), 1),
            "p99_ms": round(percentile(latencies, 99), 1), "mean_ms": round(statistics.fmean(latencies), 1),
            "max_ms": round(max(latencies), 1)}


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            r = httpx.get(f"{url}/ready", timeout=2)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"server not ready within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="searches to time (at most 5000)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed searches first")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop timing after this long")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="MATCHER_MODEL (the default of the service)")
    parser.add_argument("--home", type=Path, help="an existing MATCHER_HOME with the demo (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    args.requests = max(1, min(args.requests, 5000))
    if args.home:
        result = run(args, args.home)
    else:
        with tempfile.TemporaryDirectory(prefix="matcher-bench-") as tmp:
            result = run(args, Path(tmp))
    if args.json:
        print(json.dumps(result))
        return
    print(f"machine: {result['cores']} cores, {result['cpu']}, Python {result['python']}, "
          f"load average {result['load_average_1m']} at the end (other work on the machine inflates latency)")
    print(f"data: demo, {result['vectors']} vectors, model {result['model']}; {result['requests']} sequential "
          f"searches, k=10, one keep-alive connection on 127.0.0.1")
    print(f"POST /v1/search latency: p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, "
          f"p99 {result['p99_ms']} ms, mean {result['mean_ms']} ms, max {result['max_ms']} ms")


if __name__ == "__main__":
    main()
