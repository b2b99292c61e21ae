"""The audit log, for admins: every change by a person, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminUser, StoreDep
from api.schemas import AuditEntryPublic, AuditPublic, IsoDate
from matcher.storage import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPublic)
def get_audit(store: StoreDep, _p: AdminUser, since: Annotated[IsoDate | None, Query(
                  description="Only changes on or after this day (UTC).")] = None,
              limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 100,
              action: Annotated[str | None, Query(max_length=64, description="Only this action, e.g. "
                                                  "`key.revoke`.")] = None) -> AuditPublic:
    """Who changed what, and when: profiles, challenges, keys, imports, verdicts."""
    start = dt.datetime.combine(since, dt.time(), dt.timezone.utc) if since else None
    found = audit.entries(store, start, limit, action)
    return AuditPublic(data=[AuditEntryPublic(**e.to_dict()) for e in found], count=len(found))
