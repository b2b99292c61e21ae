"""Organisations: CRUD, list with filters and pages, bulk import, partners."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response, UploadFile

from api.deps import MatcherDep, OrgId, Reader, StaffUser, StoreDep, Writer
from api.schemas import (
    ImportReport,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationsPublic,
    OrganisationStaff,
    OrganisationUpdate,
    SuggestionsPublic,
)
from matcher import access
from matcher.access import Principal
from matcher.domain import Organisation
from matcher.errors import Forbidden, InvalidInput, NotFound
from matcher.ingest.load import import_members
from matcher.queries import partners_query
from matcher.storage.store import Store

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])
MAX_UPLOAD = 20 * 1024 * 1024


def _view(p: Principal, org: Organisation) -> OrganisationPublic | OrganisationStaff:
    return OrganisationStaff.of(org) if access.can_see_staff_fields(p) else OrganisationPublic.of(org)


def visible_organisation(store: Store, p: Principal, org_id: int) -> Organisation:
    """The organisation, or NotFound when it does not exist or the caller may not see it."""
    org = store.get_organisation(org_id)
    if not access.can_see_organisation(p, org):
        raise NotFound(f"organisation {org_id} does not exist")
    return org


@router.get("", response_model=OrganisationsPublic)
def list_organisations(store: StoreDep, p: Reader, offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50,
                       kind: Annotated[str | None, Query(max_length=32)] = None,
                       country: Annotated[str | None, Query(max_length=8)] = None,
                       name: Annotated[str | None, Query(max_length=300)] = None) -> OrganisationsPublic:
    orgs, total = store.list_organisations(offset, limit, kind, country, name, access.visible_levels(p))
    return OrganisationsPublic(data=[_view(p, o) for o in orgs], count=total)


@router.post("", status_code=201, response_model=OrganisationStaff)
def create_organisation(body: OrganisationCreate, store: StoreDep, _p: StaffUser) -> OrganisationStaff:
    if body.trl_min and body.trl_max and body.trl_min > body.trl_max:
        raise InvalidInput("trl_min: must not exceed trl_max")
    [oid] = store.upsert_organisations([Organisation(**body.model_dump(), source="api")])
    return OrganisationStaff.of(store.get_organisation(oid))


@router.get("/{org_id}", response_model=OrganisationPublic | OrganisationStaff)
def get_organisation(org_id: OrgId, store: StoreDep, p: Reader) -> OrganisationPublic | OrganisationStaff:
    return _view(p, visible_organisation(store, p, org_id))


@router.patch("/{org_id}", response_model=OrganisationPublic | OrganisationStaff)
def update_organisation(org_id: OrgId, body: OrganisationUpdate, store: StoreDep, p: Writer
                        ) -> OrganisationPublic | OrganisationStaff:
    org = visible_organisation(store, p, org_id)
    if not access.can_edit_organisation(p, org_id):
        raise Forbidden("you may only edit your own organisation's profile")
    changes = body.model_dump(exclude_unset=True)
    if not access.can_see_staff_fields(p):
        changes = {k: v for k, v in changes.items() if k not in ("contact", "notes", "visibility")}
    for key, value in changes.items():
        if value is None and key not in ("trl_min", "trl_max"):
            raise InvalidInput(f"{key}: must not be null")
        setattr(org, key, value.strip().upper() if key == "country" else value)
    if org.trl_min and org.trl_max and org.trl_min > org.trl_max:
        raise InvalidInput("trl_min: must not exceed trl_max")
    store.upsert_organisations([org])
    return _view(p, store.get_organisation(org_id))


@router.delete("/{org_id}", status_code=204)
def delete_organisation(org_id: OrgId, store: StoreDep, _p: StaffUser) -> Response:
    store.delete_organisation(org_id)
    return Response(status_code=204)


@router.post("/import", response_model=ImportReport)
async def import_organisations(file: UploadFile, store: StoreDep, _p: StaffUser) -> ImportReport:
    """Upload a member list (.csv, .json or .xlsx); good rows are imported, bad rows reported by line."""
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in (".csv", ".json", ".xlsx"):
        raise InvalidInput("file: expected a .csv, .json or .xlsx file")
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"file: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return ImportReport(**import_members(store, path))


@router.get("/{org_id}/partners", response_model=SuggestionsPublic)
def partners(org_id: OrgId, matcher: MatcherDep, p: Reader, k: Annotated[int, Query(ge=1, le=100)] = 10,
             exclude_past_partners: bool = False) -> SuggestionsPublic:
    visible_organisation(matcher.store, p, org_id)
    query = partners_query(matcher, org_id, k, exclude_past_partners)
    query.visible = access.visible_levels(p)
    found = matcher.search(query)
    return SuggestionsPublic(data=[s.to_dict() for s in found], count=len(found))  # type: ignore[misc]
