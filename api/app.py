"""The HTTP service (minimal for now: health, readiness and search). Logic lives in ``matcher``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from matcher.config import get_settings
from matcher.domain import Filters
from matcher.engine import Matcher, Query
from matcher.errors import InvalidInput, MatcherError, NotFound
from matcher.service import open_matcher

STATE: dict[str, Matcher] = {}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    matcher = open_matcher(get_settings())
    matcher.sync()
    STATE["matcher"] = matcher
    yield
    STATE.clear()


app = FastAPI(title="matcher", version="0.1.0", lifespan=lifespan)


@app.exception_handler(MatcherError)
async def _domain_error(_request: Request, exc: MatcherError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 422 if isinstance(exc, InvalidInput) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)


class FiltersIn(BaseModel):
    kinds: list[str] = Field(default_factory=list, max_length=20)
    countries: list[str] = Field(default_factory=list, max_length=60)
    nuts: list[str] = Field(default_factory=list, max_length=60)
    sme: bool | None = None
    exclude_ids: list[int] = Field(default_factory=list, max_length=1000)


class SearchIn(BaseModel):
    text: str = Field(min_length=1, max_length=20000)
    k: int = Field(10, ge=1, le=500)
    filters: FiltersIn = Field(default_factory=FiltersIn)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/ready")
def ready() -> JSONResponse:
    m = STATE.get("matcher")
    if m is None or m.index_ is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "ready", "model": m.encoder.model_id, "vectors": len(m.index_)})


@app.post("/v1/search")
def search(body: SearchIn) -> dict[str, Any]:
    m = STATE["matcher"]
    results = m.search(Query(body.text, body.k, Filters(**body.filters.model_dump())))
    return {"data": [s.to_dict() for s in results], "count": len(results)}
