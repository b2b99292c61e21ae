"""Search and organisation pages: the same queries and access checks as /v1/search and /v1/organisations."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import reader
from api.schemas import FiltersIn, SearchIn
from api.web.common import KIND_LABELS, Id, PageRoute, principal, render, validation_message
from api.web.feedback import feedback_context
from matcher import access
from matcher.domain import Filters
from matcher.engine import Matcher
from matcher.profiles import completeness
from matcher.queries import partners_by_role, text_query

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RESULTS = 20
PARTNERS = 10
EVIDENCE_SHOWN = 25
EXAMPLES = ("naaldloze injectie van vaccins", "wearable sensors for remote monitoring of heart failure",
            "organ-on-chip model to replace animal testing", "valpreventie bij ouderen thuis")
Text = Annotated[str, Query(max_length=2000)]
Code = Annotated[str, Query(max_length=40)]


def _matcher(request: Request) -> Matcher:
    return request.app.state.matcher  # type: ignore[no-any-return]


def _filters(kind: str, country: str, nuts: str, sme: str) -> FiltersIn:
    """Form fields -> the API's filter model (same validation; several codes may be given, space-separated)."""
    return FiltersIn(kinds=[kind] if kind else [], countries=country.replace(",", " ").split(),  # type: ignore[list-item]
                     nuts=nuts.replace(",", " ").split(), sme={"yes": True, "no": False}.get(sme))


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, q: Text = "", kind: Code = "", country: Code = "", nuts: Code = "",
                sme: Code = "", done: Code = "") -> Response:
    p = reader(request, principal(request))
    form = {"q": q, "kind": kind, "country": country, "nuts": nuts, "sme": sme}
    results: list[dict[str, Any]] | None = None
    error = ""
    if q.strip():
        try:
            body = SearchIn(text=q, k=RESULTS, filters=_filters(kind, country, nuts, sme))
        except ValidationError as exc:
            error = validation_message(exc)
        else:
            query = text_query(_matcher(request), body.text, body.k, Filters(**body.filters.model_dump()),
                               access.visible_levels(p))
            results = [s.to_dict() for s in _matcher(request).search(query)]
    back = "/?" + urlencode({k: v for k, v in form.items() if v})
    fb = feedback_context(_matcher(request).store, p, back, query=q) if results else None
    return render(request, "search.html", form=form, results=results, error=error, examples=EXAMPLES,
                  kinds=KIND_LABELS, fb=fb, saved=done == "verdict")


@router.get("/organisations/{org_id}", response_class=HTMLResponse)
def organisation_page(request: Request, org_id: Id, partners: bool = False, exclude_past: bool = False,
                      done: Code = "") -> Response:
    p = reader(request, principal(request))
    m = _matcher(request)
    org = access.visible_organisation(m.store, p, org_id)
    evidence = m.store.evidence_of(org_id)
    projects = [e for e in evidence if e["source"] == "project"]
    worked = m.store.partners_of(org_id)
    known = m.store.get_organisations(worked)
    past = sorted(((known[i], n) for i, n in worked.items() if i in known and access.can_see_organisation(p, known[i])),
                  key=lambda x: (-x[1], x[0].name))
    found, roles = None, []
    if partners:  # per complementary role: a company sees hospitals and labs, never its competitors
        flat, by_role = partners_by_role(m, org_id, PARTNERS, exclude_past, visible=access.visible_levels(p))
        found, roles = [s.to_dict() for s in flat], [r.to_dict() for r in by_role]
    can_edit = access.can_write(p) and access.can_edit_organisation(p, org_id)
    return render(request, "organisation.html", org=access.organisation_view(p, org), projects=projects,
                  evidence_shown=EVIDENCE_SHOWN, past=past, worked=worked, found=found, roles=roles,
                  exclude_past=exclude_past, partners=partners, can_edit=can_edit,
                  score=completeness(org) if can_edit else None, saved=done == "saved")
