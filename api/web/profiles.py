"""Profile pages: a member edits its own organisation's profile, staff edit any (the same rules and the
same library call, :func:`matcher.profiles.update_profile`, as ``PATCH /v1/organisations/{id}``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import require_key, require_writer
from api.schemas import OrganisationUpdate
from api.web.common import Id, PageRoute, check_csrf, principal, render, store_of, validation_message
from api.web.i18n import error_text, gettext
from matcher import access
from matcher.access import Principal
from matcher.domain import MAX_TEXT, Organisation, trl_in_order
from matcher.errors import Conflict, Forbidden, InvalidInput
from matcher.profiles import completeness, parse_capabilities, update_profile
from matcher.storage import audit

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Field = Annotated[str, Form(max_length=MAX_TEXT)]
Short = Annotated[str, Form(max_length=2000)]
MAX_CAPABILITIES = 100


def _editable(request: Request, org_id: int, p: Principal) -> Organisation:
    """The organisation, if ``p`` may edit its profile (NotFound when it may not even see it)."""
    require_writer(p)
    org = access.visible_organisation(store_of(request), p, org_id)
    if not access.can_edit_organisation(p, org_id):
        raise Forbidden(gettext("you may only edit your own organisation's profile"))
    return org


def _form(request: Request, org: Organisation, values: dict[str, Any], error: str = "",
          status_code: int = 200) -> Response:
    p = principal(request)
    return render(request, "profile_form.html", status_code, org=org, values=values, error=error,
                  score=completeness(org), visibilities=_visibilities(p, org))


def _visibilities(p: Principal, org: Organisation) -> tuple[str, ...]:
    """The visibility choices the form offers ``p`` (none: a member may not move a staff-only profile)."""
    if p.is_staff:
        return ("public", "members", "staff")
    return access.MEMBER_VISIBILITIES if org.visibility in access.MEMBER_VISIBILITIES else ()


def _trl(name: str, value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise InvalidInput(gettext("{field}: choose a level from 1 to 9").format(field=name.replace("_", " ")))
    return int(value)


@router.get("/organisations/{org_id}/edit", response_class=HTMLResponse)
def edit_profile_page(request: Request, org_id: Id) -> Response:
    org = _editable(request, org_id, require_key(principal(request)))
    values = {**access.organisation_view(principal(request), org), "capabilities": "\n".join(org.capabilities)}
    return _form(request, org, values)


@router.post("/organisations/{org_id}/edit", response_class=HTMLResponse)
def edit_profile(request: Request, org_id: Id, description: Field = "", capabilities: Field = "",
                 offers: Field = "", seeks: Field = "", website: Short = "", trl_min: Short = "",
                 trl_max: Short = "", visibility: Short = "", contact: Short = "", notes: Field = "",
                 name: Short = "", kind: Short = "", sme: Short = "", country: Short = "", nuts: Short = "",
                 city: Short = "", csrf: Short = "") -> Response:
    p = check_csrf(request, csrf)
    org = _editable(request, org_id, p)
    values: dict[str, Any] = {"description": description.strip(), "offers": offers.strip(), "seeks": seeks.strip(),
                              "website": website.strip(), "trl_min": trl_min, "trl_max": trl_max}
    if visibility and visibility in _visibilities(p, org):  # a choice the form did not offer keeps the old one
        values["visibility"] = visibility
    if p.is_staff:  # who the organisation is and where: staff keep these (the form shows them to staff only)
        values.update(contact=contact.strip(), notes=notes.strip(), name=name.strip(), kind=kind, sme=bool(sme),
                      country=country.strip().upper(), nuts=nuts.strip().upper(), city=city.strip())
    shown = {**access.organisation_view(p, org), **values, "capabilities": capabilities}
    try:
        tags = parse_capabilities(capabilities)
        if len(tags) > MAX_CAPABILITIES:
            message = gettext("capabilities: {n} given, at most {most}")
            raise InvalidInput(message.format(n=len(tags), most=MAX_CAPABILITIES))
        low, high = _trl("trl_min", trl_min), _trl("trl_max", trl_max)
        if not trl_in_order(low, high):
            raise InvalidInput(gettext("TRL: “from” ({low}) is higher than “to” ({high})").format(low=low, high=high))
        changes = {**values, "capabilities": tags, "trl_min": low, "trl_max": high}
        body = OrganisationUpdate(**changes)
        fields = body.model_dump(exclude_unset=True)
        update_profile(store_of(request), p, org_id, fields)
        audit.record(store_of(request), p, "organisation.update", f"organisation:{org_id}", {"fields": sorted(fields)})
    except (ValidationError, InvalidInput, Conflict) as exc:
        msg = validation_message(exc) if isinstance(exc, ValidationError) else error_text(exc)
        return _form(request, org, shown, msg, 422)
    return RedirectResponse(f"/organisations/{org_id}?done=saved", status_code=303)
