"""The ecosystem map page: organisations in 2-D by topic (see :mod:`matcher.ecosystem`), drawn as SVG."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import reader
from api.web.common import PageRoute, principal, render
from api.web.i18n import N_
from matcher import access, ecosystem
from matcher.engine import Matcher

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PRESETS = {"NL21 NL22": N_("East Netherlands (Overijssel, Gelderland)"), "NL": N_("The Netherlands"),
           "all": N_("Everywhere")}
WIDTH, HEIGHT, PAD = 1000, 720, 36
LABEL_HEIGHT = 22
_CACHE: dict[tuple[object, ...], ecosystem.EcosystemMap] = {}
_LOCK = threading.Lock()


def cached_map(m: Matcher, prefixes: tuple[str, ...], visible: tuple[str, ...]) -> ecosystem.EcosystemMap:
    """The map for this selection at the database's current change number (computed once per change)."""
    key = (m.store.db_uuid, m.store.change_no(), m.encoder.model_id, prefixes, visible)
    with _LOCK:
        if key not in _CACHE:
            if len(_CACHE) > 16:
                _CACHE.clear()
            _CACHE[key] = ecosystem.build_map(m.store, m.encoder.model_id, prefixes, visible)
        return _CACHE[key]


def place_labels(items: list[tuple[ecosystem.Topic, float, float]]) -> list[dict[str, object]]:
    """Topic labels near their cluster's centre, kept inside the picture and off each other."""
    placed: list[dict[str, object]] = []
    boxes: list[tuple[float, float, float]] = []  # (x, y, half width)
    for tp, x, y in sorted(items, key=lambda i: i[2]):
        half = len(tp.label) * 4.6 + 6
        x = min(max(x, PAD + half), WIDTH - PAD - half)
        y = min(max(y, PAD + 10), HEIGHT - PAD)
        for _ in range(40):
            if not any(abs(x - bx) < half + bh and abs(y - by) < LABEL_HEIGHT for bx, by, bh in boxes):
                break
            y = y + LABEL_HEIGHT if y + LABEL_HEIGHT < HEIGHT - PAD else y - 3 * LABEL_HEIGHT
        boxes.append((x, y, half))
        placed.append({"t": tp, "x": round(x, 1), "y": round(y, 1)})
    return placed


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, region: Annotated[str, Query(max_length=100)] = "NL21 NL22") -> Response:
    p = reader(request, principal(request))
    codes = tuple(dict.fromkeys(c.upper() for c in region.replace(",", " ").split() if c.lower() != "all"))
    found = cached_map(request.app.state.matcher, codes, access.visible_levels(p))
    sx, sy = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    points = [{"p": pt, "cx": round(PAD + pt.x * sx, 1), "cy": round(PAD + pt.y * sy, 1)} for pt in found.points]
    topics = place_labels([(tp, PAD + tp.x * sx, PAD + tp.y * sy) for tp in found.topics])
    counts: dict[str, int] = {}
    for pt in found.points:
        counts[pt.kind] = counts.get(pt.kind, 0) + 1
    return render(request, "map.html", region=" ".join(codes) or "all", presets=PRESETS, points=points,
                  topics=topics, counts=counts, width=WIDTH, height=HEIGHT, without=found.without_vectors)
