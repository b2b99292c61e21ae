"""The HTTP service: FastAPI under /v1, OpenAPI at /docs. Routers are thin; logic lives in ``matcher``."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.contract import ERROR_RESPONSES
from api.deps import Unauthenticated
from api.metrics import Metrics
from api.routers import audit, challenges, consortium, feedback, keys, matching, organisations
from api.schemas import NOT_BLANK
from api.web import install as install_web
from api.web.common import error_page
from matcher.config import Settings, get_settings
from matcher.errors import Conflict, Forbidden, InvalidInput, MatcherError, NotFound
from matcher.retrieval.follow import Follower
from matcher.service import shared_matcher
from matcher.storage.claims import EmbedClaims

log = logging.getLogger("matcher.api")
UPLOAD_PATH = "/v1/organisations/import"
UPLOAD_PATHS = (UPLOAD_PATH, "/members/preview")  # the API's import and the web page's preview of one
UPLOAD_LIMIT = 21 * 1024 * 1024
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

_STATUS: list[tuple[type[MatcherError], int]] = [
    (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (InvalidInput, 422)]


def status_of(exc: MatcherError) -> int:
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)


def _field(error: dict[str, Any]) -> str:
    """Where the error is: its location in the body, or the field a rule that spans fields names."""
    field = (error.get("ctx") or {}).get("field") if error.get("type") == "rule" else None
    return str(field) if field else ".".join(str(x) for x in error.get("loc", ()) if x != "body")


def _reason(error: dict[str, Any]) -> str:
    """Pydantic's message, in words for the not-blank pattern (its regex says little to a person)."""
    if error.get("type") == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == NOT_BLANK:
        return "must not be empty or whitespace"
    return str(error.get("msg", ""))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app over ``settings`` (read from the environment when omitted)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        matcher = shared_matcher(settings)
        matcher.sync()
        matcher.warm_up()  # the first real query must not pay one-off set-up costs (started early by `serve`)
        follower = Follower(matcher.upkeep, settings.follow_poll).start()  # other hosts' writes, at once
        app.state.matcher = matcher
        yield
        follower.stop()
        matcher.store.close()  # the last request has finished: release the database's connections

    app = FastAPI(title="matcher", version="0.1.0", lifespan=lifespan,
                  description="Partner matching for MedTech ecosystems: organisations, challenges, suggestions.")
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.worker = uuid.uuid4().hex[:12]  # names this process in X-Matcher-Worker (several workers)
    for router in (organisations.router, challenges.router, matching.router, feedback.router, consortium.router,
                   keys.router, audit.router):
        app.include_router(router, responses=ERROR_RESPONSES)
    install_web(app)  # the web UI: pages, static files, an HTML 404 for browsers
    _install_handlers(app)
    _install_middleware(app, settings)
    _install_system_routes(app)
    return app


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(MatcherError)
    async def domain_error(_request: Request, exc: MatcherError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e), "reason": _reason(e)} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(LimitsAndMetrics, owner=app, max_body_bytes=settings.max_body_bytes)


class LimitsAndMetrics:
    """Every HTTP request: a body larger than the limit refused before it is read, the worker's name and a
    complete ``Allow`` header on the response, the time and status counted for ``/metrics``.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs every request through a task
    group and in-memory streams, which cost a search more than its own filters did (docs/BENCHMARKS.md).
    """

    def __init__(self, app: ASGIApp, owner: FastAPI, max_body_bytes: int) -> None:
        self.app, self.owner, self.max_body_bytes = app, owner, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = UPLOAD_LIMIT if path in UPLOAD_PATHS else self.max_body_bytes
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            if path in UPLOAD_PATHS[1:]:  # a person at a page: a page that says what to do
                refusal: Response = error_page(
                    Request(scope), 413, "The file is too large",
                    f"An upload may be at most {UPLOAD_LIMIT // (1024 * 1024) - 1} MB. "
                    "Split the list into several files and upload them one by one.")
            else:
                refusal = JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413)
            await refusal(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def marked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Matcher-Worker"] = self.owner.state.worker
                if status == 405:  # the methods of every route at this path, not of the first one
                    headers["Allow"] = allowed_methods(self.owner, path)
            await send(message)

        try:
            await self.app(scope, receive, marked)
        finally:
            route = scope.get("route")
            self.owner.state.metrics.observe(scope["method"], getattr(route, "path", "unmatched"), status,
                                             time.perf_counter() - start)


def allowed_methods(app: FastAPI, path: str) -> str:
    """The ``Allow`` header for ``path``: every method some route serves there (Starlette names only the
    methods of the first route it tried, so OPTIONS on a resource with GET and PATCH said just GET)."""
    found = []
    for method in METHODS:
        scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": []}
        if any(route.matches(scope)[0] is Match.FULL for route in app.router.routes):
            found.append(method)
    return ", ".join(found)


def _install_system_routes(app: FastAPI) -> None:
    @app.get("/health", tags=["system"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["system"], responses={503: {
        "description": "Still loading the model or the index (`starting`), or stopping (`draining`)"}})
    def ready(request: Request) -> JSONResponse:
        """Readiness: the model and the index are loaded, and the process is not stopping."""
        if getattr(request.app.state, "draining", False):  # set by matcher.serving on a stop signal
            return JSONResponse({"status": "draining"}, status_code=503)
        m = getattr(request.app.state, "matcher", None)
        if m is None or m.snapshot_ is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ready", "model": m.encoder.model_id, "vectors": len(m.snapshot_.vectors)})

    @app.get("/metrics", tags=["system"], response_class=PlainTextResponse)
    def metrics(request: Request) -> str:
        """Prometheus text: request counts and latencies, index size, bulk embedding progress (all hosts)."""
        m = getattr(request.app.state, "matcher", None)
        snap = m.snapshot_ if m else None
        extra: dict[str, Any] = {"matcher_index_vectors": len(snap.vectors) if snap else 0,
                                 "matcher_change_number": snap.change_no if snap else 0}
        if m is not None:  # texts with and without a vector for the model, and those being embedded now
            done = EmbedClaims(m.store, m.encoder.model_id).progress()
            extra.update({"matcher_embed_embedded": done.embedded, "matcher_embed_remaining": done.remaining,
                          "matcher_embed_claimed": done.claimed})
        return request.app.state.metrics.render(extra)


def app_factory() -> FastAPI:
    return create_app()


app = create_app()
