"""The consortium page: a call text and an instrument in, a proposed team with its rule checks out.

It validates with the API's request models and calls the same library functions under the same
visibility rules as ``POST /v1/consortium`` and ``/swap``, so the page and the API propose the same team.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import reader
from api.routers.consortium import ConsortiumIn, SwapIn
from api.web.challenges import _poser_id
from api.web.common import PageRoute, check_csrf, principal, render, store_of, validation_message
from api.web.i18n import error_text
from matcher import access
from matcher.access import Principal
from matcher.consortium import build_consortium, swap_member
from matcher.domain import MAX_TEXT
from matcher.engine import Matcher
from matcher.errors import InvalidInput, NotFound
from matcher.messages import Message
from matcher.rules import INSTRUMENT_IDS, load_instrument

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Short = Annotated[str, Form(max_length=300)]


def _instruments() -> dict[str, str]:
    return {i: load_instrument(i).name for i in INSTRUMENT_IDS}


def _page(request: Request, form: dict[str, Any], result: dict[str, Any] | None = None, error: str = "",
          status_code: int = 200) -> Response:
    names = {}
    if result:
        names = {m["organisation"]["id"]: m["organisation"]["name"] for m in result["members"]}
    return render(request, "consortium.html", status_code, form=form, result=result, error=error,
                  instruments=_instruments(), names=names)


@router.get("/consortium", response_class=HTMLResponse)
def consortium_page(request: Request, challenge: int | None = None) -> Response:
    """The empty form, or one filled in from a challenge (its text, instrument and poser as lead)."""
    p = reader(request, principal(request))
    form: dict[str, Any] = {"text": "", "instrument": "horizon-ria", "lead": "", "size": "", "support": False}
    if challenge is not None:
        store = store_of(request)
        ch = access.visible_challenge(store, p, challenge)
        poser = store.get_organisations([ch.posed_by]).get(ch.posed_by) if ch.posed_by else None
        form.update(text=ch.query_text, instrument=ch.instrument if ch.instrument in INSTRUMENT_IDS else "care-pilot",
                    lead=f"{poser.name} (#{poser.id})" if poser and access.can_see_organisation(p, poser) else "")
    return _page(request, form)


@router.post("/consortium", response_class=HTMLResponse)
def consortium_build(request: Request, text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
                     instrument: Short = "", lead: Short = "", size: Short = "", members: Short = "",
                     remove: Short = "", csrf: Short = "", support: Short = "") -> Response:
    p = reader(request, check_csrf(request, csrf))
    form = {"text": text, "instrument": instrument, "lead": lead, "size": size, "support": bool(support)}
    try:
        fixed = [i for i in [_poser_id(lead)] if i is not None]
        n = _size(size)
        if remove and members:
            team = [int(x) for x in members.split(",") if x.strip()]
            body = SwapIn(text=text, instrument=instrument, fixed=fixed, size=n, members=team, remove=int(remove),
                          support=bool(support))
        else:
            body = ConsortiumIn(text=text, instrument=instrument, fixed=fixed, size=n, support=bool(support))
        result = _team(request.app.state.matcher, p, body)
    except ValidationError as exc:
        return _page(request, form, error=validation_message(exc), status_code=422)
    except (InvalidInput, NotFound, ValueError) as exc:
        return _page(request, form, error=error_text(exc), status_code=422)
    return _page(request, form, result)


def _size(size: str) -> int | None:
    """The team size typed in the form (empty: the instrument's default)."""
    if not size.strip():
        return None
    try:
        return int(size)
    except ValueError:
        raise InvalidInput(Message("size: {value!r} is not a whole number", value=size)) from None


def _team(m: Matcher, p: Principal, body: ConsortiumIn) -> dict[str, Any]:
    """The team for ``body`` (a swap when it is a :class:`SwapIn`), over what ``p`` may see."""
    instrument, visible = load_instrument(body.instrument), access.visible_levels(p)
    if isinstance(body, SwapIn):
        access.check_visible_organisations(m.store, p, [*body.fixed, *body.members])
        return swap_member(m, body.text, instrument, body.members, body.remove, body.fixed, body.exclude,
                           visible=visible, support=body.support).to_dict()
    access.check_visible_organisations(m.store, p, body.fixed)
    return build_consortium(m, body.text, instrument, body.fixed, body.size, body.exclude, visible=visible,
                            support=body.support).to_dict()
