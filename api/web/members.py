"""Member lists in the browser (staff): upload, a preview of what would be added and changed field by field
and of every bad row, then the import in one transaction. The same parser and the same limits as
``POST /v1/organisations/import``; the file waits for the confirmation in the database
(:mod:`matcher.storage.uploads`)."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from api.deps import require_key, require_staff
from api.routers.organisations import MAX_UPLOAD, SUFFIXES
from api.web.common import SECURITY_HEADERS, PageRoute, check_csrf, error_page, principal, render, store_of
from api.web.i18n import error_text, gettext
from matcher.errors import InvalidInput
from matcher.ingest.load import ImportPlan, import_members, plan_members
from matcher.ingest.members import MAX_ROWS, MEMBER_COLUMNS, REQUIRED_COLUMNS
from matcher.ingest.template import template_csv, template_xlsx
from matcher.profiles import incomplete_profiles
from matcher.storage import audit, uploads

log = logging.getLogger("matcher.web")
router = APIRouter(route_class=PageRoute, include_in_schema=False)
PREVIEW_PATH = "/members/preview"
SHOWN = 300  # rows of each kind listed in a preview; the counts are always complete
INCOMPLETE_SHOWN = 50
Token = Annotated[str, Form(max_length=200)]
TEMPLATES = {"csv": ("text/csv; charset=utf-8", template_csv),
             "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", template_xlsx)}
COUNTS = ("added", "changed", "unchanged", "skipped")


@contextmanager
def _as_file(filename: str, data: bytes) -> Iterator[Path]:
    """The upload as a file under its own name (messages name it) and suffix (the parser reads the format)."""
    suffix = Path(filename).suffix.lower()
    stem = re.sub(r"[^\w\-. ]", "_", Path(filename).stem).strip(". ")[:150] or "upload"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}{suffix}"
        path.write_bytes(data)
        yield path


def _page(request: Request, error: str = "", status_code: int = 200, **context: Any) -> Response:
    return render(request, "members.html", status_code, error=error, max_mb=MAX_UPLOAD // (1024 * 1024),
                  max_rows=MAX_ROWS, columns=MEMBER_COLUMNS, required=REQUIRED_COLUMNS, **context)


@router.get("/members", response_class=HTMLResponse)
def members_page(request: Request, done: str = "", added: int = 0, changed: int = 0, unchanged: int = 0,
                 skipped: int = 0) -> Response:
    require_staff(require_key(principal(request)))
    result = dict(zip(COUNTS, (added, changed, unchanged, skipped))) if done == "imported" else None
    return _page(request, result=result, incomplete=incomplete_profiles(store_of(request), INCOMPLETE_SHOWN))


@router.get("/members/template.{fmt}")
def member_template(request: Request, fmt: str) -> Response:
    require_staff(require_key(principal(request)))
    if fmt not in TEMPLATES:
        return error_page(request, 404, gettext("Page not found"), gettext("The template comes as .csv or .xlsx."))
    media, make = TEMPLATES[fmt]
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="member-list-template.{fmt}"'}
    return Response(make(), media_type=media, headers=headers)


def _read_upload(file: UploadFile) -> tuple[str, bytes]:
    """The file's name and bytes, or InvalidInput naming the limit it breaks."""
    name = Path(file.filename or "").name
    if not name:
        raise InvalidInput(gettext("Choose a file to upload."))
    if Path(name).suffix.lower() not in SUFFIXES:
        raise InvalidInput(gettext("{name}: expected a .csv, .json or .xlsx file.").format(name=name))
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(gettext("{name}: larger than {mb} MB, the most one upload may be. Split the list into "
                                   "several files.").format(name=name, mb=MAX_UPLOAD // (1024 * 1024)))
    if not data.strip():
        raise InvalidInput(gettext("{name}: the file is empty.").format(name=name))
    return name, data


@router.post(PREVIEW_PATH, response_class=HTMLResponse)
def preview(request: Request, file: Annotated[UploadFile, File()], csrf: Token = "") -> Response:
    p = require_staff(check_csrf(request, csrf))
    store = store_of(request)
    try:
        name, data = _read_upload(file)
        with _as_file(name, data) as path:
            plan = plan_members(store, path, MAX_ROWS)
    except InvalidInput as exc:
        return _page(request, error_text(exc), 422)
    token = uploads.keep(store, p.key_id or 0, name, data) if plan.importable else ""
    return render(request, "members_preview.html", plan=plan, filename=name, token=token, shown=SHOWN,
                  ids=_stored_names(plan))


def _stored_names(plan: ImportPlan) -> dict[int, str]:
    return {r.stored_id: r.organisation.name for r in plan.changed + plan.unchanged if r.stored_id}


@router.post("/members/import")
def run_import(request: Request, token: Token = "", csrf: Token = "") -> Response:
    p = require_staff(check_csrf(request, csrf))
    store = store_of(request)
    pending = uploads.fetch(store, p.key_id or 0, token)
    try:
        with _as_file(pending.filename, pending.data) as path:
            plan = plan_members(store, path, MAX_ROWS)
            report = import_members(store, path, MAX_ROWS)  # one transaction: every good row, or none
    except SQLAlchemyError:
        log.exception("member import of %s failed", pending.filename)
        return error_page(request, 500, gettext("Nothing was imported"),
                          gettext("The database refused the import of {name}, so none of its rows were written: the "
                                  "organisations are as they were. Try again; if it fails again, tell the "
                                  "administrator (the server log has the details).").format(name=pending.filename))
    audit.record_import(store, p, pending.filename, report)
    uploads.discard(store, token)
    counts = (len(plan.added), len(plan.changed), len(plan.unchanged), len(plan.errors))
    query = "&".join(f"{k}={n}" for k, n in zip(COUNTS, counts))
    return RedirectResponse(f"/members?done=imported&{query}", status_code=303)
