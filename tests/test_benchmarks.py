"""Smoke runs of the benchmarks at tiny sizes, so they never rot. They assert that each runs and
prints its figures and the machine, never a timing (the real runs are recorded in docs/BENCHMARKS.md).
The HTTP load benchmark starts two workers on the demo data and is left to its manual runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need_shared

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("script", "keys"), [
    ("query_latency.py", ["search", "suggestions", "partners", "ratio_p50"]),
    ("scale_1m.py", ["approximate", "pipeline_ms", "exact_single_ms"]),
    ("throughput.py", ["pipeline_embed_texts_per_s", "bare_encode_texts_per_s", "ratio_embed", "backends"]),
    ("startup.py", ["ready_ms", "reference_ms", "peak_rss_mb", "torch_loaded"]),
])
def test_benchmark_runs_small_and_prints_figures(script: str, keys: list[str]) -> None:
    need_shared()
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--small"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("machine: ") and " cores, " in done.stdout.splitlines()[0]
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    for key in keys:
        assert key in result, f"{script} did not report {key}"


@pytest.mark.parametrize(("script", "keys"), [
    ("embed_workers.py", ["runs", "speedup", "claims_only"]),
    ("propagation.py", ["notify_only", "notify", "polling"]),
    ("scale_hosts.py", ["import", "embedding", "build", "start", "catch_up"]),
])
def test_several_host_benchmarks_run_small_on_postgres(script: str, keys: list[str]) -> None:
    """The issue-16 benchmarks need a PostgreSQL server (they create and drop a database of their own on it)."""
    from tests.conftest import IN_CI, PG_URL

    need_shared()
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but MATCHER_TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL")
        pytest.skip("no PostgreSQL server: set MATCHER_TEST_POSTGRES_URL (scripts/pg-throwaway.sh starts one)")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--small", "--url", PG_URL], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("machine: ")
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    for key in keys:
        assert key in result, f"{script} did not report {key}"


def test_the_synthetic_catalogue_keeps_the_real_proportions(tmp_path: Path) -> None:
    """Twice the real health catalogue: kinds in their real shares, organisations with about their real number
    of projects, consortia of their real sizes, every text distinct, replicas linked into one graph."""
    from collections import Counter

    need_shared()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synthetic import generate

    from matcher.ingest.cordis import CordisData

    real = CordisData.read(ROOT.parent / "shared" / "data" / "cordis_health")
    n_real = len({r["organisation_id"] for r in real.participants})
    report = generate(ROOT.parent / "shared" / "data" / "cordis_health", 2 * n_real, tmp_path)
    fake = CordisData.read(tmp_path)
    assert report["projects"] == len(fake.projects) == round(len(real.projects) * 2)
    assert 1.7 * n_real < report["organisations"] <= 2 * n_real

    def shares(data: CordisData) -> dict[str, float]:
        kinds = Counter({r["organisation_id"]: r["activity_type"] for r in data.participants}.values())
        return {k: n / sum(kinds.values()) for k, n in kinds.items()}

    assert all(abs(shares(fake)[k] - v) < 0.03 for k, v in shares(real).items())
    per_org = len(fake.participants) / int(report["organisations"])  # type: ignore[call-overload]
    assert 0.9 < per_org / (len(real.participants) / n_real) < 1.3
    sizes = Counter(r["project_id"] for r in fake.participants)
    real_sizes = Counter(r["project_id"] for r in real.participants)
    assert all(sizes[f"S1-{p}"] == n for p, n in real_sizes.items())
    assert len({p["objective"] for p in fake.projects.values()}) > 0.99 * len(fake.projects)
    replica_1 = [r for r in fake.participants if r["project_id"].startswith("S1-")]
    crossing = sum(not r["organisation_id"].startswith("S1-") for r in replica_1) / len(replica_1)
    assert 0.05 < crossing < 0.25  # 20% of places drawn at random, half of those land in the other replica
