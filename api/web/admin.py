"""Admin pages: the keys (list, create with role, organisation, label and expiry; revoke) and the audit log.

The same library calls and rules as ``/v1/keys`` and ``/v1/audit``: admins only; a new key is shown
once, on the page that answers its form; an admin cannot revoke the key it is signed in with.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import require_admin, require_key
from api.schemas import KeyCreate
from api.web.common import Id, PageRoute, check_csrf, principal, render, store_of, validation_message
from api.web.i18n import N_, error_text, gettext, message_of
from matcher.access import ROLES, Principal
from matcher.errors import Conflict, InvalidInput, NotFound
from matcher.storage import audit
from matcher.storage.keys import MAX_EXPIRY_DAYS, issue_key, list_keys, revoke_key

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Short = Annotated[str, Form(max_length=300)]
DONE = {"revoked": N_("Key revoked: it is refused from now on, and its browser sessions have ended.")}
STATUSES = (N_("active"), N_("expired"), N_("revoked"))  # a key's status, translated on the page


def _admin(request: Request) -> Principal:
    return require_admin(require_key(principal(request)))


def _org_id(value: str) -> int | None:
    """'Isala (#12)' or '12' -> 12; empty -> None."""
    value = value.strip().rstrip(")")
    if not value:
        return None
    digits = value.rsplit("#", 1)[-1].strip()
    if not digits.isdigit():
        raise InvalidInput(gettext("organisation: choose one from the list (its name ends with its #number) or give "
                                   "its id"))
    return int(digits)


def _keys_page(request: Request, status_code: int = 200, created: dict[str, Any] | None = None, error: str = "",
               values: dict[str, Any] | None = None, done: str = "") -> Response:
    store = store_of(request)
    keys = list_keys(store)
    orgs = store.get_organisations({k.organisation_id for k in keys if k.organisation_id})
    everyone, _n = store.list_organisations(0, 5000)
    return render(request, "keys.html", status_code, keys=keys, orgs=orgs, created=created, error=error,
                  values=values or {"role": "member"}, roles=ROLES, max_days=MAX_EXPIRY_DAYS,
                  done=message_of(DONE, done), org_options=[f"{o.name} (#{o.id})" for o in everyone])


@router.get("/admin/keys", response_class=HTMLResponse)
def keys_page(request: Request, done: str = "") -> Response:
    _admin(request)
    return _keys_page(request, done=done)


@router.post("/admin/keys", response_class=HTMLResponse)
def create_key_form(request: Request, role: Short = "", organisation: Short = "", label: Short = "",
                    expires_days: Short = "", csrf: Short = "") -> Response:
    check_csrf(request, csrf)
    p = _admin(request)
    values = {"role": role, "organisation": organisation, "label": label, "expires_days": expires_days}
    try:
        days = expires_days.strip()
        if days and not days.isdigit():
            raise InvalidInput(gettext("expires after: a whole number of days, or empty for never"))
        body = KeyCreate(role=role, organisation_id=_org_id(organisation), label=label.strip(),  # type: ignore[arg-type]
                         expires_days=int(days) if days else None)
        key, info = issue_key(store_of(request), body.role, body.organisation_id, body.label, body.expires_days, p)
    except (ValidationError, InvalidInput, NotFound) as exc:
        msg = validation_message(exc) if isinstance(exc, ValidationError) else error_text(exc)
        return _keys_page(request, 422, error=msg, values=values)
    return _keys_page(request, 201, created={"key": key, "id": info.id, "role": info.role})


@router.post("/admin/keys/{key_id}/revoke")
def revoke_key_form(request: Request, key_id: Id, csrf: Short = "") -> Response:
    check_csrf(request, csrf)
    p = _admin(request)
    if key_id == p.key_id:
        raise Conflict(gettext("this is the key you are signed in with: revoke it while signed in with another admin "
                               "key"))
    revoke_key(store_of(request), key_id, p)
    return RedirectResponse("/admin/keys?done=revoked", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, since: Annotated[str, Query(max_length=10)] = "",
               action: Annotated[str, Query(max_length=64)] = "",
               limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 200) -> Response:
    _admin(request)
    try:
        day = dt.date.fromisoformat(since) if since else None
    except ValueError as exc:
        raise InvalidInput(gettext("since: a date like 2025-03-01")) from exc
    start = dt.datetime.combine(day, dt.time(), dt.timezone.utc) if day else None
    found = audit.entries(store_of(request), start, limit, action or None)
    return render(request, "audit.html", entries=found, since=since, action=action, limit=limit)
