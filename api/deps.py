"""Dependencies shared by the routers: the store, the matcher, and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from api.schemas import MAX_ID
from matcher.access import ANONYMOUS, Principal
from matcher.config import Settings
from matcher.engine import Matcher
from matcher.errors import Forbidden
from matcher.storage.keys import authenticate
from matcher.storage.store import Store


class Unauthenticated(Forbidden):
    """No or an invalid key: answered with 401."""


def get_matcher(request: Request) -> Matcher:
    return request.app.state.matcher  # type: ignore[no-any-return]


def get_store(request: Request) -> Store:
    return request.app.state.matcher.store  # type: ignore[no-any-return]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def current_principal(request: Request) -> Principal:
    """The caller from ``Authorization: Bearer KEY``; anonymous when no header is sent."""
    header = request.headers.get("authorization", "")
    if not header:
        return ANONYMOUS
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("send the key as 'Authorization: Bearer KEY'")
    try:
        return authenticate(request.app.state.matcher.store, key.strip())
    except Forbidden as exc:
        raise Unauthenticated(str(exc)) from exc


def require_key(p: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if p.role == "anonymous":
        raise Unauthenticated("an API key is required: send 'Authorization: Bearer KEY'")
    return p


def reader(request: Request, p: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Any key; anonymous too when the public search setting is on (read-only, public data only)."""
    if p.role == "anonymous" and not request.app.state.settings.public_search:
        raise Unauthenticated("an API key is required: send 'Authorization: Bearer KEY'")
    return p


def require_staff(p: Annotated[Principal, Depends(require_key)]) -> Principal:
    if not p.is_staff:
        raise Forbidden("only cluster staff may do this")
    return p


def require_admin(p: Annotated[Principal, Depends(require_key)]) -> Principal:
    if p.role != "admin":
        raise Forbidden("only an admin may do this")
    return p


def require_writer(p: Annotated[Principal, Depends(require_key)]) -> Principal:
    if p.role not in ("admin", "staff", "member"):
        raise Forbidden("viewers have read-only access")
    return p


StoreDep = Annotated[Store, Depends(get_store)]
MatcherDep = Annotated[Matcher, Depends(get_matcher)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CurrentUser = Annotated[Principal, Depends(require_key)]
Reader = Annotated[Principal, Depends(reader)]
StaffUser = Annotated[Principal, Depends(require_staff)]
AdminUser = Annotated[Principal, Depends(require_admin)]
Writer = Annotated[Principal, Depends(require_writer)]
OrgId = Annotated[int, Path(ge=1, le=MAX_ID, description="An organisation's id.")]
ChallengeId = Annotated[int, Path(ge=1, le=MAX_ID, description="A challenge's id.")]
KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="A key's id (not the key).")]
