"""API keys, for admins: list (never the key), create (the key in the answer, once), revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.contract import rule_responses
from api.deps import AdminUser, KeyId, StoreDep
from api.schemas import KeyCreate, KeyCreated, KeyPublic, KeysPublic
from matcher.errors import Conflict
from matcher.storage.keys import issue_key, list_keys, revoke_key

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("", response_model=KeysPublic)
def get_keys(store: StoreDep, _p: AdminUser) -> KeysPublic:
    """Every key, newest first, with its role, organisation, label, created, last used, expiry and status."""
    keys = [KeyPublic(**k.to_dict()) for k in list_keys(store)]
    return KeysPublic(data=keys, count=len(keys))


@router.post("", status_code=201, response_model=KeyCreated,
             responses=rule_responses("", "", ("organisation_id", "required when role is 'member'")))
def create_key(body: KeyCreate, store: StoreDep, p: AdminUser) -> KeyCreated:
    """Create a key; the answer holds the key itself, this once (only its hash is stored)."""
    key, info = issue_key(store, body.role, body.organisation_id, body.label, body.expires_days, p)
    return KeyCreated(**info.to_dict(), key=key)


@router.delete("/{key_id:int}", status_code=204)
def delete_key(key_id: KeyId, store: StoreDep, p: AdminUser) -> Response:
    """Revoke a key: from now on every request with it is refused (401) on every worker and host, and its
    browser sessions end. Revoking a revoked key is a no-op; revoking the key of this request is 409."""
    if key_id == p.key_id:
        raise Conflict("this is the key you are using: revoke it with another admin key")
    revoke_key(store, key_id, p)
    return Response(status_code=204)
