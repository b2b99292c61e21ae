"""In-process request metrics, rendered in the Prometheus text format."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Counts and latency histograms per (method, route, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: dict[tuple[str, str, int], int] = defaultdict(int)
        self._hist: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self._sum: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._count[(method, route, status)] += 1
            h = self._hist[(method, route)]
            h[next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))] += 1
            self._sum[(method, route)] += seconds

    def render(self, gauges: dict[str, Any]) -> str:
        lines = ["# TYPE matcher_requests_total counter"]
        with self._lock:
            for (m, r, s), n in sorted(self._count.items()):
                lines.append(f'matcher_requests_total{{method="{m}",route="{r}",status="{s}"}} {n}')
            lines.append("# TYPE matcher_request_seconds histogram")
            for (m, r), h in sorted(self._hist.items()):
                acc = 0
                for b, n in zip((*BUCKETS, "+Inf"), h):
                    acc += n
                    lines.append(f'matcher_request_seconds_bucket{{method="{m}",route="{r}",le="{b}"}} {acc}')
                lines.append(f'matcher_request_seconds_sum{{method="{m}",route="{r}"}} {self._sum[(m, r)]:.6f}')
                lines.append(f'matcher_request_seconds_count{{method="{m}",route="{r}"}} {acc}')
        for name, value in gauges.items():
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(lines) + "\n"
