"""Process supervision of a real ``matcher serve`` on loopback, under a steady stream of writes and searches.

- The supervisor is killed with SIGKILL: its workers finish the requests in hand and leave, the port
  stops answering within 5 s, and a new ``matcher serve`` on the same port comes ready.
- SIGTERM: ``/ready`` answers 503 while the server drains, no client sees a reset or an error for a
  request it got a connection for (a refused connection is the only allowed failure), the process
  exits with status 0 within the drain bound, and every acknowledged write is there after a restart.
- Workers killed with SIGKILL are replaced and ``/ready`` returns to 200; one death more than
  ``MATCHER_RESTART_LIMIT`` within the window stops the whole service with exit status 1.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from matcher.ingest.cordis import CordisData
from tests.api.live import READY_TIMEOUT, Home, Server, make_home, running

DRAIN_DELAY = 1.5  # seconds of 503 on /ready before the server stops accepting (test setting)
DRAIN_TIMEOUT = 20.0  # the default MATCHER_DRAIN_TIMEOUT
STOP_BOUND = DRAIN_DELAY + DRAIN_TIMEOUT + 10  # the supervisor's own bound (delay + timeout + margin)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, small_cordis: CordisData) -> Home:
    return make_home(tmp_path_factory.mktemp("supervision"), small_cordis)


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux ``/proc``)."""
    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids.update(int(k) for k in (task / "children").read_text().split())
        except OSError:
            pass
    return {k for k in kids if alive(k)}


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def refuses(port: int) -> bool:
    """Nothing listens on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until ``check()`` held, or None when it did not within ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(step)
    return None


def draining(server: Server) -> bool:
    """``/ready`` answers 503 with ``{"status": "draining"}``."""
    try:
        r = httpx.get(f"{server.url}/ready", timeout=5)
    except httpx.HTTPError:
        return False
    return r.status_code == 503 and r.json() == {"status": "draining"}


class Load:
    """Four clients writing organisations and searching, each request on a fresh connection."""

    def __init__(self, server: Server, clients: int = 4) -> None:
        self.server, self.stop = server, threading.Event()
        self.acked: list[int] = []
        self.answered = 0
        self.refused = 0
        self.failures: list[str] = []  # resets, disconnects, timeouts, 5xx: what must never happen
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _client(self, i: int) -> None:
        s, n = self.server, 0
        while not self.stop.is_set():
            n += 1
            try:
                if n % 2:
                    r = httpx.post(f"{s.url}/v1/organisations", headers=s.headers, timeout=30, json={
                        "name": f"Supervision Load {i}-{n} BV", "kind": "sme", "country": "NL",
                        "description": f"Load client {i}, request {n}: wearable sensors for cardiac rehabilitation."})
                else:
                    r = httpx.post(f"{s.url}/v1/search", headers=s.headers, timeout=30,
                                   json={"text": "wearable sensors for cardiac rehabilitation", "k": 5})
            except httpx.ConnectError:  # refused: the request was never accepted
                with self.lock:
                    self.refused += 1
                time.sleep(0.05)
                continue
            except httpx.HTTPError as exc:
                with self.lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                continue
            with self.lock:
                self.answered += 1
                if r.status_code not in (200, 201):
                    self.failures.append(f"HTTP {r.status_code}: {r.text[:200]}")
                elif n % 2:
                    self.acked.append(int(r.json()["id"]))

    def wait_answered(self, n: int, timeout: float = 60) -> None:
        assert wait_until(lambda: self.answered >= n, timeout) is not None, f"only {self.answered} answers"


def test_workers_leave_when_the_supervisor_is_killed(home: Home) -> None:
    server = Server(home, workers=2).start()
    try:
        workers = children(server.proc.pid)  # type: ignore[union-attr]
        assert len(workers) == 2, workers
        with Load(server) as load:
            load.wait_answered(10)
            server.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr] - the supervisor only
            closed = wait_until(lambda: refuses(server.port), 5)
            gone = wait_until(lambda: not any(alive(w) for w in workers), 15)
        assert closed is not None, "a worker still answers on the port 5 s after the supervisor died"
        assert gone is not None, f"workers still alive: {[w for w in workers if alive(w)]}"
        assert load.failures == [], load.failures  # the requests in hand were finished
        assert load.answered >= 10 and load.refused > 0
    finally:
        server.stop()
    again = Server(home, workers=2, port=server.port).start()  # the port is free: a new service starts on it
    try:
        assert httpx.get(f"{again.url}/ready", timeout=10).json()["status"] == "ready"
    finally:
        again.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_and_loses_nothing(home: Home, workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHER_DRAIN_DELAY", str(DRAIN_DELAY))
    server = Server(home, workers=workers).start()
    try:
        with Load(server) as load:
            load.wait_answered(10)
            before = load.answered
            server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr] - as docker stop or systemd do
            assert wait_until(lambda: draining(server), DRAIN_DELAY) is not None, "/ready never said draining"
            assert server.proc.wait(STOP_BOUND) == 0  # type: ignore[union-attr]
        served_while_draining = load.answered - before
    finally:
        server.stop()
    assert load.failures == [], load.failures
    assert served_while_draining > 0 and load.refused > 0 and load.acked
    with running(home) as again:
        lost = [i for i in load.acked
                if httpx.get(f"{again.url}/v1/organisations/{i}", headers=again.headers, timeout=30).status_code != 200]
    assert lost == [], f"{len(lost)} of {len(load.acked)} acknowledged writes are missing"


def test_dead_workers_are_replaced_until_a_crash_loop(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHER_RESTART_LIMIT", "2")
    monkeypatch.setenv("MATCHER_RESTART_WINDOW", "600")
    server = Server(home, workers=2).start()
    proc = server.proc
    assert proc is not None
    try:
        first = children(proc.pid)
        assert len(first) == 2, first
        for w in first:  # two deaths: within the limit
            os.kill(w, signal.SIGKILL)
        assert wait_until(lambda: len(children(proc.pid) - first) == 2, 15) is not None, children(proc.pid)
        server.wait_ready(READY_TIMEOUT)  # the replacements serve
        assert httpx.get(f"{server.url}/ready", timeout=10).json()["status"] == "ready"
        log = server.log()
        assert all(f"worker {w} died (signal SIGKILL); starting a replacement" in log for w in first), log

        second = children(proc.pid)
        os.kill(next(iter(second)), signal.SIGKILL)  # the third death within the window: a crash loop
        assert proc.wait(STOP_BOUND) == 1
        assert "a crash loop; stopping the service" in server.log()
        assert not any(alive(w) for w in second) and refuses(server.port)
    finally:
        server.stop()
