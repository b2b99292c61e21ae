"""Challenge pages: list, create and edit, suggestions with explanations, shortlist, CSV, introductions.

Creating, editing and introductions validate with the API's request models and apply the same
rules of who may do what (:mod:`matcher.access`) as the API routes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import reader, require_key, require_writer
from api.schemas import ChallengeCreate, ChallengeUpdate
from api.web.common import (
    SECURITY_HEADERS,
    Id,
    PageRoute,
    check_csrf,
    principal,
    render,
    store_of,
    validation_message,
)
from api.web.feedback import feedback_context
from api.web.i18n import N_, error_text, gettext, message_of
from matcher import access
from matcher.access import Principal
from matcher.domain import MAX_ID, MAX_TEXT, Challenge
from matcher.errors import Conflict, InvalidInput
from matcher.messages import Message
from matcher.queries import suggest_for_challenge_by_role
from matcher.ranking.roles import roles_of, to_store
from matcher.storage import audit, shortlists
from matcher.storage.keys import list_feedback, record_feedback
from matcher.storage.store import Store

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SUGGESTIONS = 10
POSER_KINDS = ("hospital", "care_institution", "public_body")
DONE = {"created": N_("Challenge created. Suggestions are below."), "saved": N_("Changes saved."),
        "added": N_("Added to the shortlist."), "already": N_("That organisation is already on the shortlist."),
        "removed": N_("Removed from the shortlist."), "noted": N_("Note saved."),
        "introduction": N_("Introduction requested: cluster staff will follow up."),
        "verdict": N_("Verdict saved. Suggestions for this challenge take it into account.")}
Field = Annotated[str, Form(max_length=MAX_TEXT)]
Short = Annotated[str, Form(max_length=300)]


def _editable(request: Request, challenge_id: Id, p: Principal) -> Challenge:
    """The challenge, if ``p`` may keep its shortlist (staff, or the posing organisation's members)."""
    require_writer(p)
    return access.editable_challenge(store_of(request), p, challenge_id,
                                     Message("keep this challenge's shortlist"))


def _poser_id(value: str) -> int | None:
    """'Radboudumc (#12)' or '12' -> 12; empty -> None."""
    value = value.strip()
    if not value:
        return None
    m = re.search(r"#?(\d+)\)?\s*$", value)
    if m is None:
        raise InvalidInput(gettext("posed by: choose an organisation from the list (its name ends with its #number)"))
    return int(m.group(1))


def _poser_options(store: Store, p: Principal) -> list[str]:
    if not p.is_staff:
        return []
    out = []
    for kind in POSER_KINDS:
        orgs, _n = store.list_organisations(0, 1000, kind, visibility=access.visible_levels(p))
        out.extend(f"{o.name} (#{o.id})" for o in orgs)
    return sorted(out)


def _form(request: Request, ch: Challenge | None, values: dict[str, Any], error: str = "",
          status_code: int = 200) -> Response:
    p = principal(request)
    store = store_of(request)
    own = store.get_organisation(p.org_id) if p.org_id else None
    return render(request, "challenge_form.html", status_code, ch=ch, values=values, error=error,
                  posers=_poser_options(store, p), own=own)


@router.get("/challenges", response_class=HTMLResponse)
def challenges_page(request: Request) -> Response:
    p = reader(request, principal(request))
    store = store_of(request)
    visible = [c for c in store.list_challenges() if access.can_see_challenge(p, c)]
    posers = {i: o for i, o in store.get_organisations([c.posed_by for c in visible if c.posed_by]).items()
              if access.can_see_organisation(p, o)}
    return render(request, "challenges.html", challenges=visible[::-1], posers=posers)


@router.get("/challenges/new", response_class=HTMLResponse)
def new_challenge_page(request: Request) -> Response:
    require_writer(require_key(principal(request)))
    return _form(request, None, {"confidentiality": "public", "status": "open", "wanted_kinds": []})


@router.post("/challenges/new", response_class=HTMLResponse)
def create_challenge_form(request: Request, title: Short = "", description: Field = "", posed_by: Short = "",
                          wanted_kinds: Annotated[list[str], Form()] = [], region: Short = "",  # noqa: B006
                          instrument: Short = "", confidentiality: Short = "public", status: Short = "open",
                          csrf: Short = "") -> Response:
    p = require_writer(check_csrf(request, csrf))
    values = {"title": title, "description": description, "wanted_kinds": wanted_kinds,
              "region": region.strip().upper(), "instrument": instrument.strip(),
              "confidentiality": confidentiality, "status": status}
    store = store_of(request)
    try:  # a member's challenge is posed by its own organisation, so an 'owner' one has its owner
        body = ChallengeCreate(**values, posed_by=_poser_id(posed_by) if p.is_staff else p.org_id)
        ch = body.challenge()
        ch.posed_by = access.poser_of(store, p, body.posed_by)
        with store.transaction() as conn:
            created = store.save_challenge(ch, conn)
            audit.record(conn, p, "challenge.create", f"challenge:{created}", {"title": ch.title})
    except (ValidationError, InvalidInput) as exc:
        msg = validation_message(exc) if isinstance(exc, ValidationError) else error_text(exc)
        return _form(request, None, {**values, "posed_by": posed_by}, msg, 422)
    return RedirectResponse(f"/challenges/{created}?done=created", status_code=303)


ROLE_ROWS = 2  # empty role rows offered beside the current ones


def _role_rows(ch: Challenge) -> dict[str, Any]:
    """The edit form's roles: the current ones (edited, else as derived now) and room for more."""
    rows = [{"name": r.name, "need": r.need} for r in roles_of(ch.query_text, ch.wanted_kinds, ch.roles)]
    return {"roles_edited": bool(ch.roles), "role_rows": rows + [{"name": "", "need": ""}] * ROLE_ROWS}


@router.get("/challenges/{challenge_id}/edit", response_class=HTMLResponse)
def edit_challenge_page(request: Request, challenge_id: Id) -> Response:
    ch = _editable(request, challenge_id, require_key(principal(request)))
    return _form(request, ch, {**vars(ch), **_role_rows(ch)})


@router.post("/challenges/{challenge_id}/edit", response_class=HTMLResponse)
def edit_challenge(request: Request, challenge_id: Id, title: Short = "", description: Field = "",
                   wanted_kinds: Annotated[list[str], Form()] = [], region: Short = "",  # noqa: B006
                   instrument: Short = "", confidentiality: Short = "public", status: Short = "open",
                   roles_edited: Short = "", role_name: Annotated[list[str], Form()] = [],  # noqa: B006
                   role_need: Annotated[list[str], Form()] = [], csrf: Short = "") -> Response:  # noqa: B006
    p = check_csrf(request, csrf)
    ch = _editable(request, challenge_id, p)
    values = {"title": title, "description": description, "wanted_kinds": wanted_kinds,
              "region": region.strip().upper(), "instrument": instrument.strip(),
              "confidentiality": confidentiality, "status": status}
    rows = [{"name": n, "need": d} for n, d in zip(role_name, role_need, strict=False) if n.strip() or d.strip()]
    before = vars(ch).copy()
    try:
        if roles_edited and not rows:
            raise InvalidInput(gettext("roles: give at least one role with what it should bring, or untick 'Use the "
                                       "roles'"))
        for key, value in ChallengeUpdate(**values, roles=rows if roles_edited else []).model_dump(
                exclude_unset=True).items():
            setattr(ch, key, to_store(value) if key == "roles" else value)
        if not ch.has_owner:
            raise Conflict(gettext("confidentiality: 'owner' needs a posing organisation, and this challenge has none"))
    except (ValidationError, Conflict, InvalidInput) as exc:
        msg = validation_message(exc) if isinstance(exc, ValidationError) else error_text(exc)
        shown = {"roles_edited": bool(roles_edited), "role_rows": rows + [{"name": "", "need": ""}] * ROLE_ROWS}
        return _form(request, ch, {**vars(ch), **values, **shown}, msg, 422)
    store = store_of(request)
    with store.transaction() as conn:
        store.save_challenge(ch, conn)
        audit.record(conn, p, "challenge.update", f"challenge:{challenge_id}",
                     {"fields": sorted(k for k, v in vars(ch).items() if before.get(k) != v)})
    return RedirectResponse(f"/challenges/{challenge_id}?done=saved", status_code=303)


@router.get("/challenges/{challenge_id}", response_class=HTMLResponse)
def challenge_page(request: Request, challenge_id: Id, done: str = "") -> Response:
    p = reader(request, principal(request))
    m = request.app.state.matcher
    ch = access.visible_challenge(m.store, p, challenge_id)
    flat, by_role = suggest_for_challenge_by_role(m, challenge_id, SUGGESTIONS, visible=access.visible_levels(p))
    found = [s.to_dict() for s in flat]
    roles = [r.to_dict() for r in by_role]
    keeps = access.can_write(p) and access.can_edit_challenge(p, ch)
    entries = [e for e in shortlists.entries(m.store, challenge_id)
               if access.can_see_organisation(p, e.organisation)] if keeps else []
    poser = m.store.get_organisations([ch.posed_by]).get(ch.posed_by) if ch.posed_by else None
    if poser is not None and not access.can_see_organisation(p, poser):
        poser = None
    asked = {r["organisation_id"] for r in list_feedback(m.store, "introduction", 1000)
             if r["challenge_id"] == challenge_id and p.key_id is not None and r["key_id"] == p.key_id}
    fb = feedback_context(m.store, p, f"/challenges/{challenge_id}", challenge_id=challenge_id)
    return render(request, "challenge.html", ch=ch, poser=poser, found=found, roles=roles, keeps=keeps, entries=entries,
                  listed={e.organisation.id for e in entries}, asked=asked, done=message_of(DONE, done), fb=fb)


@router.post("/challenges/{challenge_id}/shortlist")
def shortlist_add(request: Request, challenge_id: Id, organisation_id: Annotated[int, Form(ge=1, le=MAX_ID)],
                  csrf: Short = "") -> Response:
    p = check_csrf(request, csrf)
    _editable(request, challenge_id, p)
    access.visible_organisation(store_of(request), p, organisation_id)
    added = shortlists.add(store_of(request), challenge_id, organisation_id, p.key_id)
    if added:
        audit.record(store_of(request), p, "shortlist.add", f"challenge:{challenge_id}",
                     {"organisation_id": organisation_id})
    return _back(challenge_id, "added" if added else "already", "shortlist")


@router.post("/challenges/{challenge_id}/shortlist/{organisation_id}/note")
def shortlist_note(request: Request, challenge_id: Id, organisation_id: Id,
                   note: Annotated[str, Form(max_length=shortlists.MAX_NOTE)] = "", csrf: Short = "") -> Response:
    p = check_csrf(request, csrf)
    _editable(request, challenge_id, p)
    shortlists.set_note(store_of(request), challenge_id, organisation_id, note)
    audit.record(store_of(request), p, "shortlist.note", f"challenge:{challenge_id}",
                 {"organisation_id": organisation_id})
    return _back(challenge_id, "noted", "shortlist")


@router.post("/challenges/{challenge_id}/shortlist/{organisation_id}/remove")
def shortlist_remove(request: Request, challenge_id: Id, organisation_id: Id, csrf: Short = "") -> Response:
    p = check_csrf(request, csrf)
    _editable(request, challenge_id, p)
    shortlists.remove(store_of(request), challenge_id, organisation_id)
    audit.record(store_of(request), p, "shortlist.remove", f"challenge:{challenge_id}",
                 {"organisation_id": organisation_id})
    return _back(challenge_id, "removed", "shortlist")


@router.get("/challenges/{challenge_id}/shortlist.csv")
def shortlist_csv(request: Request, challenge_id: Id) -> Response:
    p = require_key(principal(request))
    _editable(request, challenge_id, p)
    items = [e for e in shortlists.entries(store_of(request), challenge_id)
             if access.can_see_organisation(p, e.organisation)]
    body = shortlists.to_csv(items, staff_fields=access.can_see_staff_fields(p))
    name = f"shortlist-challenge-{challenge_id}.csv"
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/challenges/{challenge_id}/introductions")
def introduction(request: Request, challenge_id: Id, organisation_id: Annotated[int, Form(ge=1, le=MAX_ID)],
                 note: Annotated[str, Form(max_length=2000)] = "", csrf: Short = "") -> Response:
    p = require_writer(check_csrf(request, csrf))
    store = store_of(request)
    access.visible_organisation(store, p, organisation_id)
    access.visible_challenge(store, p, challenge_id)
    record_feedback(store, p, organisation_id, "introduction", challenge_id, "", note)
    return _back(challenge_id, "introduction", f"org-{organisation_id}")


def _back(challenge_id: int, done: str, anchor: str) -> Response:
    return RedirectResponse(f"/challenges/{challenge_id}?done={done}#{anchor}", status_code=303)
