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
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("machine: ")
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    for key in keys:
        assert key in result, f"{script} did not report {key}"
