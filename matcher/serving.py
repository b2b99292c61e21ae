"""One HTTP server process that stops cleanly: an ASGI app on a listening socket, drained on a signal.

``matcher serve`` runs it in its own process (one worker), or ``python -m matcher.serving`` runs it in
each worker process of :mod:`matcher.supervise`. On SIGTERM or SIGINT the server drains:

1. ``app.state.draining`` becomes true (the app's ``/ready`` then answers 503) and every response
   carries ``Connection: close``; requests are still served for ``Drain.delay`` seconds, so that a
   load balancer that polls ``/ready`` moves traffic away first;
2. the listening socket is closed, after accepting every connection the kernel has already
   completed: closing a listening socket resets the connections still queued on it, and a client
   whose connection was established would see that reset (only the last process to close its copy
   of a shared socket matters; the window left is the few microseconds between the last ``accept``
   and the ``close``, with no ``await`` between them);
3. connections accepted just before get a moment (``SETTLE``) to send their request, since uvicorn's
   shutdown closes a connection that has not sent one yet;
4. uvicorn's own shutdown: requests in flight get at most ``Drain.timeout`` seconds, then the app's
   lifespan ends (the database is closed) and the process exits with status 0.

A second SIGINT (Ctrl+C twice) skips the waiting. A worker of the supervisor also holds the read end
of a lifeline pipe whose write end only the supervisor holds: whatever way the supervisor ends
(SIGKILL, OOM killer, crash), the read end sees end-of-file at once and the worker drains without the
delay; a worker still loading the app leaves at once (nothing was accepted yet).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType, SimpleNamespace
from typing import Any

import uvicorn
from uvicorn.importer import import_from_string

log = logging.getLogger("matcher.serve")
# seconds, at most: connections accepted just before the close may still send their request. Waiting
# ends as soon as they are answered (each response closes its connection while draining); only idle
# keep-alive connections wait it out. One second was too short on two loaded cores (a client thread
# connected, then sent its request after the server had given up on it).
SETTLE = 5.0
CLOSE = (b"connection", b"close")


@dataclass(frozen=True)
class Drain:
    """How a server stops: ``delay`` s of 503 on ``/ready`` while serving, then ``timeout`` s for requests in flight."""

    delay: float = 0.0
    timeout: float = 20.0


def log_to_stderr() -> None:
    """Lifecycle lines (workers started, died, draining) on stderr, each naming its process."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s matcher[%(process)d] %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A TCP socket listening on ``host:port`` (IPv6 when the host has a colon).

    Raises:
        OSError: the address is in use or cannot be bound.
    """
    # the protocol named explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose ``proto``
    # is IPPROTO_TCP, and an accepted socket inherits it; with 0, every keep-alive response waited ~40 ms
    # for a delayed ACK (one client: 22 requests/s on /health instead of hundreds)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains (see the module docstring) instead of closing at once."""

    def __init__(self, config: uvicorn.Config, app_state: Any, drain: Drain) -> None:
        super().__init__(config)
        self.app_state = app_state
        self.drain = drain
        self.stop_at: float | None = None  # monotonic time at which to stop accepting; None: serving
        self.interrupts = 0
        self._accepting: set[asyncio.Task[Any]] = set()

    def begin_drain(self, delay: float) -> None:
        """Start stopping in ``delay`` s; a later call may bring that time forward, never push it back.

        Safe from a signal handler or another thread: it only sets attributes the loop reads.
        """
        at = time.monotonic() + delay
        if self.stop_at is None:
            self.app_state.draining = True
            log.info("draining: /ready answers 503; no new connections in %.1f s", delay)
        self.stop_at = at if self.stop_at is None else min(self.stop_at, at)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM or SIGINT: drain. Repeats change nothing, except a second SIGINT, which skips the waiting."""
        if sig == signal.SIGINT:
            self.interrupts += 1
            if self.interrupts > 1:
                self.force_exit = True
                self.begin_drain(0.0)
        self.begin_drain(self.drain.delay)

    async def on_tick(self, counter: int) -> bool:
        should_exit = await super().on_tick(counter)  # also rebuilds the default headers every second
        if self.stop_at is None:
            return should_exit
        if CLOSE not in self.server_state.default_headers:
            self.server_state.default_headers = [*self.server_state.default_headers, CLOSE]
        return should_exit or time.monotonic() >= self.stop_at

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Steps 2 to 4 of the module docstring."""
        self._close_listeners(sockets or [])
        deadline = time.monotonic() + min(SETTLE, self.drain.timeout)
        while (self.server_state.connections or self._accepting) and time.monotonic() < deadline \
                and not self.force_exit:
            await asyncio.sleep(0.05)  # each response closes its connection; idle keep-alives wait
        await super().shutdown(sockets)

    def _close_listeners(self, sockets: list[socket.socket]) -> None:
        """Accept what the kernel has queued on ``sockets``, then close them without yielding in between."""
        loop = asyncio.get_running_loop()
        protocol = functools.partial(self.config.http_protocol_class, config=self.config,
                                     server_state=self.server_state, app_state=self.lifespan.state, _loop=loop)
        for sock in sockets:
            while True:
                try:
                    conn, _ = sock.accept()  # the socket is non-blocking under asyncio
                except OSError:  # BlockingIOError: the queue is empty
                    break
                conn.setblocking(False)
                task = loop.create_task(loop.connect_accepted_socket(protocol, conn))
                self._accepting.add(task)
                task.add_done_callback(self._accepting.discard)
        for server in self.servers:
            server.close()


def watch_lifeline(fd: int, server: DrainingServer) -> None:
    """Block until every write end of the pipe ``fd`` is closed (the supervisor is gone), then stop."""
    while os.read(fd, 1):  # nothing is ever written: the read returns b"" once the supervisor is gone
        pass
    if not server.started:
        log.warning("the supervisor is gone before this worker started serving: leaving")
        os._exit(0)  # still loading; nothing accepted, and a crash at any moment is repaired at the next start
    log.warning("the supervisor is gone: finishing the requests in hand, then leaving")
    server.begin_drain(0.0)


def run(app_spec: str, sock: socket.socket, drain: Drain, lifeline: int | None = None,
        log_level: str = "warning") -> int:
    """Serve ``app_spec`` (``"module:attribute"``) on ``sock`` until a signal or the lifeline stops it.

    Returns:
        The exit status: 0 after a clean stop. An app that fails to start exits with status 3 (uvicorn's).
    """
    log_to_stderr()
    app = import_from_string(app_spec)
    config = uvicorn.Config(app, log_level=log_level, lifespan="on",
                            timeout_graceful_shutdown=math.ceil(drain.timeout))
    server = DrainingServer(config, getattr(app, "state", SimpleNamespace()), drain)
    if lifeline is not None:
        threading.Thread(target=watch_lifeline, args=(lifeline, server), name="lifeline", daemon=True).start()
    server.run(sockets=[sock])
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> None:
    """One worker of :mod:`matcher.supervise`: ``python -m matcher.serving APP --fd N --lifeline M ...``."""
    p = argparse.ArgumentParser(prog="python -m matcher.serving", description=main.__doc__)
    p.add_argument("app", help="the ASGI app, as module:attribute")
    p.add_argument("--fd", type=int, required=True, help="the inherited listening socket")
    p.add_argument("--lifeline", type=int, help="the inherited read end of the supervisor's lifeline pipe")
    p.add_argument("--drain-delay", type=float, default=Drain.delay)
    p.add_argument("--drain-timeout", type=float, default=Drain.timeout)
    p.add_argument("--log-level", default="warning")
    args = p.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    sys.exit(run(args.app, sock, Drain(args.drain_delay, args.drain_timeout), args.lifeline, args.log_level))


if __name__ == "__main__":
    main()
