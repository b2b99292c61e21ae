"""Verdicts on suggestions (relevant, not relevant, contacted, partnered) from any suggestion card, and the
staff's follow-up list of introductions. The same checks and the same store call as ``POST /v1/feedback``."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import require_key, require_staff, require_writer
from api.web.common import PageRoute, check_csrf, principal, render, safe_next, store_of
from matcher import access
from matcher.access import Principal
from matcher.domain import MAX_ID, MAX_TEXT
from matcher.storage.followups import follow_ups, judgements
from matcher.storage.keys import record_feedback
from matcher.storage.store import Store

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Verdict = Literal["relevant", "not_relevant", "contacted", "partnered"]


def feedback_context(store: Store, p: Principal, back: str, challenge_id: int | None = None, query: str = ""
                     ) -> dict[str, Any] | None:
    """What the verdict buttons on a page's suggestion cards need (None: the caller may not give verdicts).
    Staff see every verdict on the question; a member sees its own key's."""
    if not access.can_write(p):
        return None
    marks = judgements(store, challenge_id, query, None if p.is_staff else (p.key_id or -1))
    return {"challenge_id": challenge_id, "query": query.strip(), "back": back, "marks": marks}


def _with_done(path: str, done: str, anchor: str) -> str:
    """``path`` with ``done=...`` in its query (replacing one there) and ``#anchor``."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "done"] + [("done", done)]
    return urlunsplit(("", "", parts.path, urlencode(query), anchor))


@router.post("/feedback")
def give_verdict(request: Request, organisation_id: Annotated[int, Form(ge=1, le=MAX_ID)],
                 verdict: Annotated[Verdict, Form()],
                 challenge_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
                 query: Annotated[str, Form(max_length=MAX_TEXT)] = "",
                 back: Annotated[str, Form(max_length=4000)] = "/", csrf: Annotated[str, Form(max_length=200)] = ""
                 ) -> Response:
    p = require_writer(check_csrf(request, csrf))
    store = store_of(request)
    access.visible_organisation(store, p, organisation_id)
    if challenge_id is not None:
        access.visible_challenge(store, p, challenge_id)
    record_feedback(store, p, organisation_id, verdict, challenge_id, "" if challenge_id else query.strip())
    return RedirectResponse(_with_done(safe_next(back), "verdict", f"org-{organisation_id}"), status_code=303)


@router.get("/introductions", response_class=HTMLResponse)
def follow_up_page(request: Request, done: str = "") -> Response:
    require_staff(require_key(principal(request)))
    store = store_of(request)
    items = follow_ups(store)
    recorders = {s.by.organisation_id for f in items for s in f.steps.values() if s.by.organisation_id}
    orgs = store.get_organisations({f.organisation_id for f in items} | recorders)
    titles = {c.id: c.title for c in store.list_challenges()}
    return render(request, "introductions.html", items=items, orgs=orgs, titles=titles, saved=done == "verdict")
