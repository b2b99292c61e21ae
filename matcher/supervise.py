"""``matcher serve --workers N``: a small supervisor over N worker processes that share one listening socket.

Why not uvicorn's own supervisor (``uvicorn.supervisors.Multiprocess``, measured with uvicorn 0.54 under a
stream of writes and searches): its workers outlive a supervisor killed with SIGKILL and keep serving,
so the next start fails with "address already in use"; on SIGTERM it keeps its copy of the listening
socket open while the workers finish, so connections the kernel queues meanwhile are reset when it
exits (clients saw 1 to 3 resets per stop); and it restarts a crashing worker without limit.

This supervisor:

- binds the socket once and starts each worker as ``python -m matcher.serving`` with that socket and
  the read end of a lifeline pipe (see :mod:`matcher.serving`): a worker leaves as soon as the
  supervisor is gone, however it ended;
- replaces a worker that dies and logs it (pid, exit status or signal), but stops the service with
  exit status 1 when more than ``RestartLimit.limit`` workers died within ``RestartLimit.window``
  seconds (a crash loop), or at once when a worker failed to start (uvicorn's exit status 3: the app
  or its settings are broken, and a replacement would fail the same way);
- on SIGTERM or SIGINT closes its own copy of the socket (the workers' copies then decide when the
  port stops listening), sends SIGTERM to each worker, waits for them to drain (drain delay + drain
  timeout + ``MARGIN``; SIGKILL after that) and exits with status 0 when every worker stopped cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from types import FrameType

from matcher.serving import Drain, log, log_to_stderr, run

STARTUP_FAILURE = 3  # uvicorn's exit status for an app that failed to start
MARGIN = 10.0  # seconds beyond the drain for a worker to end its lifespan and exit, before SIGKILL
TICK = 0.2  # seconds between looks at the workers
# how a worker may end when told to stop: 0 after draining, or the signal itself when it arrived while the
# worker was still importing the app (before its handlers were installed, so before it accepted anything)
CLEAN = (0, -signal.SIGTERM, -signal.SIGINT)


@dataclass(frozen=True)
class RestartLimit:
    """A dead worker is replaced unless ``limit`` workers already died within the last ``window`` seconds."""

    limit: int = 5
    window: float = 60.0


def describe(returncode: int) -> str:
    """``"signal SIGKILL"`` or ``"exit status 1"``, from a ``Popen.returncode``."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


class Supervisor:
    """``size`` workers serving ``app_spec`` on ``sock``; :meth:`run` returns the exit status."""

    def __init__(self, app_spec: str, sock: socket.socket, size: int, drain: Drain, restarts: RestartLimit,
                 log_level: str = "warning") -> None:
        self.app_spec, self.sock, self.size = app_spec, sock, size
        self.drain, self.restarts, self.log_level = drain, restarts, log_level
        self.workers: list[subprocess.Popen[bytes]] = []
        self.deaths: deque[float] = deque()  # monotonic times of the deaths within the restart window
        self.stopping = False
        self.spawning = False

    def run(self) -> int:
        """Start the workers, keep them running until a stop signal or a crash loop, stop them."""
        log_to_stderr()
        lifeline, self.lifeline_w = os.pipe()  # the write end stays here (not inheritable): EOF = we are gone
        self.lifeline = lifeline
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            log.info("supervisor: starting %d workers", self.size)
            self.workers = [self._spawn() for _ in range(self.size)]
            return self._stop(self._watch())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self.lifeline_w)  # any worker still alive (an exception above) leaves now
            os.close(self.lifeline)
            self._close_socket()

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("supervisor: %s received, stopping the workers", signal.Signals(sig).name)
        self.stopping = True
        if not self.spawning:  # a worker being started still needs the socket; _spawn closes it after
            self._close_socket()

    def _close_socket(self) -> None:
        if self.sock.fileno() != -1:
            self.sock.close()

    def _spawn(self) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "matcher.serving", self.app_spec, "--fd", str(self.sock.fileno()),
               "--lifeline", str(self.lifeline), "--drain-delay", str(self.drain.delay),
               "--drain-timeout", str(self.drain.timeout), "--log-level", self.log_level]
        self.spawning = True
        try:
            proc = subprocess.Popen(cmd, pass_fds=(self.sock.fileno(), self.lifeline))
        finally:
            self.spawning = False
        if self.stopping:
            self._close_socket()
        log.info("supervisor: started worker %d", proc.pid)
        return proc

    def _watch(self) -> int:
        """Replace dead workers until a stop signal (returns 0) or a crash loop (returns 1)."""
        while not self.stopping:
            time.sleep(TICK)
            for i, proc in enumerate(self.workers):
                if self.stopping or proc.poll() is None:
                    continue
                if not self._may_replace(proc):
                    return 1
                self.workers[i] = self._spawn()
        return 0

    def _may_replace(self, proc: subprocess.Popen[bytes]) -> bool:
        """Log the death of ``proc``; False when it failed to start or the restart budget is spent."""
        now, how = time.monotonic(), describe(proc.returncode)
        while self.deaths and now - self.deaths[0] > self.restarts.window:
            self.deaths.popleft()
        if proc.returncode == STARTUP_FAILURE:
            log.error("supervisor: worker %d failed to start (%s); stopping the service", proc.pid, how)
            return False
        if len(self.deaths) >= self.restarts.limit:
            log.error("supervisor: worker %d died (%s), more than %d deaths within %.0f s: a crash loop; "
                      "stopping the service", proc.pid, how, self.restarts.limit, self.restarts.window)
            return False
        self.deaths.append(now)
        log.warning("supervisor: worker %d died (%s); starting a replacement (restart %d of at most %d "
                    "within %.0f s)", proc.pid, how, len(self.deaths), self.restarts.limit, self.restarts.window)
        return True

    def _stop(self, status: int) -> int:
        """SIGTERM each worker and wait; ``status``, or 1 when a worker did not stop cleanly in time."""
        self.stopping = True
        self._close_socket()
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.drain.delay + self.drain.timeout + MARGIN
        for proc in self.workers:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("supervisor: worker %d did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()
            if proc.returncode not in CLEAN:
                log.warning("supervisor: worker %d ended with %s", proc.pid, describe(proc.returncode))
                status = 1
        log.info("supervisor: stopped (exit status %d)", status)
        return status


def serve(app_spec: str, sock: socket.socket, workers: int, drain: Drain, restarts: RestartLimit,
          log_level: str = "warning") -> int:
    """Serve ``app_spec`` on the listening ``sock``: in this process for one worker, else under a supervisor.

    Returns:
        The exit status (0 after a clean stop).
    """
    if workers == 1:
        return run(app_spec, sock, drain, log_level=log_level)
    return Supervisor(app_spec, sock, workers, drain, restarts, log_level).run()
