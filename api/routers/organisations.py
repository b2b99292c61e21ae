"""Organisations: CRUD, list with filters and pages, bulk import, partners."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response, UploadFile

from api.contract import rule_responses
from api.deps import MatcherDep, OrgId, Reader, StaffUser, StoreDep, Writer
from api.schemas import (
    ImportReport,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationsPublic,
    OrganisationStaff,
    OrganisationUpdate,
    SuggestionsPublic,
    organisation_out,
)
from matcher import access
from matcher.domain import Organisation
from matcher.errors import InvalidInput
from matcher.ingest.load import import_members
from matcher.ingest.members import MAX_ROWS
from matcher.profiles import update_profile
from matcher.queries import partners_by_role, partners_query
from matcher.storage import audit

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])
MAX_UPLOAD = 20 * 1024 * 1024
SUFFIXES = (".csv", ".json", ".xlsx")
ONE = "/{org_id:int}"  # an id is digits: /v1/organisations/import is a path of its own, never an id
TRL = rule_responses("", "", ("trl_min", "must not exceed trl_max"))
# The file part as a client sends it: what the server reads the format from is the file name's suffix.
# (No ``contentType`` for the part: the server does not read it, and clients would have to serialise to it.)
UPLOAD_ENCODING = {"file": {
    "headers": {"Content-Disposition": {"description": "The file name must end in .csv, .json or .xlsx.",
                                        "schema": {"type": "string",
                                                   "example": 'form-data; name="file"; filename="members.csv"'}}}}}


@router.get("", response_model=OrganisationsPublic)
def list_organisations(store: StoreDep, p: Reader, offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50,
                       kind: Annotated[str | None, Query(max_length=32)] = None,
                       country: Annotated[str | None, Query(max_length=8)] = None,
                       name: Annotated[str | None, Query(max_length=300)] = None) -> OrganisationsPublic:
    orgs, total = store.list_organisations(offset, limit, kind, country, name, access.visible_levels(p))
    return OrganisationsPublic(data=[organisation_out(p, o) for o in orgs], count=total)


@router.post("", status_code=201, response_model=OrganisationStaff, responses=TRL)
def create_organisation(body: OrganisationCreate, store: StoreDep, p: StaffUser) -> OrganisationStaff:
    with store.transaction() as conn:
        [oid] = store.upsert_organisations([Organisation(**body.model_dump(), source="api")], conn)
        audit.record(conn, p, "organisation.create", f"organisation:{oid}", {"name": body.name})
    return OrganisationStaff.of(store.get_organisation(oid))


@router.get(ONE, response_model=OrganisationPublic | OrganisationStaff)
def get_organisation(org_id: OrgId, store: StoreDep, p: Reader) -> OrganisationPublic | OrganisationStaff:
    return organisation_out(p, access.visible_organisation(store, p, org_id))


@router.patch(ONE, response_model=OrganisationPublic | OrganisationStaff, responses=TRL)
def update_organisation(org_id: OrgId, body: OrganisationUpdate, store: StoreDep, p: Writer
                        ) -> OrganisationPublic | OrganisationStaff:
    """Change the given fields. 409 when the result would have trl_min above trl_max (one bound stored).
    A member changes its own profile; contact and notes stay as they are, and its visibility moves only
    between public and members (other values are ignored)."""
    changes = body.model_dump(exclude_unset=True)
    org = update_profile(store, p, org_id, changes)
    audit.record(store, p, "organisation.update", f"organisation:{org_id}", {"fields": sorted(changes)})
    return organisation_out(p, org)


@router.delete(ONE, status_code=204)
def delete_organisation(org_id: OrgId, store: StoreDep, p: StaffUser) -> Response:
    with store.transaction() as conn:
        store.delete_organisation(org_id, conn)
        audit.record(conn, p, "organisation.delete", f"organisation:{org_id}")
    return Response(status_code=204)


@router.post("/import", response_model=ImportReport,
             responses=rule_responses("POST", "/v1/organisations/import"),
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"encoding": UPLOAD_ENCODING}}}})
async def import_organisations(file: UploadFile, store: StoreDep, p: StaffUser) -> ImportReport:
    """Upload a member list (.csv, .json or .xlsx, by the file name's suffix; at most 20 MB and 20,000 rows);
    good rows are imported together (all or none), bad rows reported by line."""
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput("file: expected a .csv, .json or .xlsx file")
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"file: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        report = import_members(store, path, MAX_ROWS)
    audit.record_import(store, p, file.filename or "", report)
    return ImportReport(**report)


@router.get(ONE + "/partners", response_model=SuggestionsPublic)
def partners(org_id: OrgId, matcher: MatcherDep, p: Reader, k: Annotated[int, Query(ge=1, le=100)] = 10,
             exclude_past_partners: bool = False, roles: bool = False) -> SuggestionsPublic:
    """Complementary partners. With ``roles=true``: per role (the partners its profile names, else the kinds
    that complement its own: a company gets hospitals and labs), each in ``roles``, ``data`` interleaved."""
    access.visible_organisation(matcher.store, p, org_id)
    if roles:
        found, by_role = partners_by_role(matcher, org_id, k, exclude_past_partners, visible=access.visible_levels(p))
        return SuggestionsPublic(data=[s.to_dict() for s in found], count=len(found),  # type: ignore[misc]
                                 roles=[r.to_dict() for r in by_role])
    query = partners_query(matcher, org_id, k, exclude_past_partners)
    query.visible = access.visible_levels(p)
    found = matcher.search(query)
    return SuggestionsPublic(data=[s.to_dict() for s in found], count=len(found))  # type: ignore[misc]
