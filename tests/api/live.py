"""A real ``matcher serve`` process on a loopback port, for the tests that need real HTTP.

The server runs in its own process group (``matcher serve --workers N`` forks a
supervisor and N workers), so stopping it stops every process it started and
nothing else. Everything here is bounded in time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from matcher.ingest.cordis import CordisData, import_cordis
from matcher.storage.keys import create_key
from matcher.storage.store import Store
from tests.conftest import ROOT, TEST_MODEL

READY_TIMEOUT = 120.0  # the model loads in a few seconds; a cold first embedding of the data takes longer


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Home:
    """A ``MATCHER_HOME`` with a SQLite database, real data and an admin key."""

    path: Path
    admin_key: str

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.path / 'matcher.db'}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "MATCHER_HOME": str(self.path), "MATCHER_MODEL": TEST_MODEL,
                "MATCHER_DATABASE_URL": self.db_url, "MATCHER_PUBLIC_SEARCH": "false"}

    def store(self) -> Store:
        return Store(self.db_url)


def make_home(path: Path, data: CordisData | None = None) -> Home:
    """A fresh home; ``data`` (a CORDIS subset) is imported when given."""
    path.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{path / 'matcher.db'}")
    if data is not None:
        import_cordis(store, data)
    key = create_key(store, "admin", label="tests")
    store.close()
    return Home(path, key)


def count_texts(home: Home) -> int:
    """How many distinct evidence texts the database holds: what a consistent index has vectors for."""
    store = home.store()
    try:
        return len(store.texts())
    finally:
        store.close()


@dataclass
class Server:
    """A running ``matcher serve``; ``url`` is its base URL on loopback."""

    home: Home
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.home.admin_key}"}

    def start(self, timeout: float = READY_TIMEOUT) -> Server:
        log = open(self.home.path / f"server-{self.port}.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "matcher", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            cwd=ROOT, env=self.home.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"server not ready within {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        path = self.home.path / f"server-{self.port}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL every process of the server at once: no shutdown code runs."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL whatever is left after ``timeout`` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            self._signal(signal.SIGKILL)  # workers left behind by a dead supervisor
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)  # the group this server's own session created
        except ProcessLookupError:
            pass
        if sig == signal.SIGKILL:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass


@contextmanager
def running(home: Home, workers: int = 1) -> Iterator[Server]:
    """A started server, always stopped when the block ends."""
    server = Server(home, workers)
    try:
        yield server.start()
    finally:
        server.stop()
