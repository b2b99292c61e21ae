"""API keys: listed without the key, expiring, revoked at once, their last use noted once a minute."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from matcher.access import Principal, Role
from matcher.domain import Organisation
from matcher.errors import Forbidden, InvalidInput, NotFound
from matcher.storage import audit
from matcher.storage import schema as t
from matcher.storage.keys import authenticate, create_key, get_key, issue_key, list_keys, revoke_key
from matcher.storage.store import Store

ADMIN = Principal(Role.ADMIN, None, 99)


def _set(store: Store, key_id: int, **values: object) -> None:
    with store.transaction() as conn:
        conn.execute(update(t.api_keys).where(t.api_keys.c.id == key_id).values(**values))


def test_a_key_is_listed_with_its_facts_and_never_in_clear(store: Store) -> None:
    [oid] = store.upsert_organisations([Organisation("Isala", kind="hospital")])
    key, info = issue_key(store, "member", oid, "Isala innovation desk", expires_days=30, actor=ADMIN)
    [listed] = list_keys(store)
    assert listed == info == get_key(store, info.id)
    assert (listed.role, listed.organisation_id, listed.label, listed.status()) == (
        "member", oid, "Isala innovation desk", "active")
    assert key.startswith(listed.prefix) and len(listed.prefix) == 8 and key not in str(listed.to_dict())
    assert dt.timedelta(days=29, hours=23) < listed.expires_at - listed.created_at <= dt.timedelta(days=30)  # type: ignore[operator]
    assert listed.last_used_at is None
    with store.engine.connect() as conn:
        stored = {str(v) for row in conn.execute(select(t.api_keys)) for v in row}
    assert key not in stored  # only the hash
    [entry] = audit.entries(store)
    assert (entry.action, entry.target, entry.key_id, entry.role) == ("key.create", f"key:{info.id}", 99, "admin")
    assert entry.detail == {"role": "member", "organisation_id": oid, "label": "Isala innovation desk",
                            "expires_days": 30}


def test_create_refuses_bad_roles_members_without_organisation_and_bad_expiry(store: Store) -> None:
    for args, kwargs in (((store, "owner"), {}), ((store, "member"), {}), ((store, "staff"), {"expires_days": 0}),
                         ((store, "staff"), {"expires_days": 3651})):
        with pytest.raises(InvalidInput):
            create_key(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        create_key(store, "member", 12345)
    assert list_keys(store) == [] and audit.entries(store) == []  # nothing half-written


def test_a_revoked_or_expired_key_is_refused_at_once(store: Store) -> None:
    keep, gone, old = (create_key(store, "staff"), create_key(store, "viewer"), create_key(store, "viewer", None,
                                                                                          expires_days=1))
    gone_id, old_id = authenticate(store, gone).key_id, authenticate(store, old).key_id
    info = revoke_key(store, gone_id, ADMIN)  # type: ignore[arg-type]
    assert info.status() == "revoked" and info.revoked_at is not None
    with pytest.raises(Forbidden, match="revoked"):
        authenticate(store, gone)
    _set(store, old_id, expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))  # type: ignore[arg-type]
    with pytest.raises(Forbidden, match="expired"):
        authenticate(store, old)
    assert get_key(store, old_id).status() == "expired"  # type: ignore[arg-type]
    assert authenticate(store, keep).role == Role.STAFF
    assert revoke_key(store, gone_id, ADMIN).revoked_at == info.revoked_at  # type: ignore[arg-type]  # again: nothing changes
    assert [e.action for e in audit.entries(store, action="key.revoke")] == ["key.revoke"]
    with pytest.raises(NotFound):
        revoke_key(store, 999)


def test_last_use_is_written_at_most_once_a_minute(store: Store) -> None:
    key = create_key(store, "viewer")
    kid = authenticate(store, key).key_id
    first = get_key(store, kid).last_used_at  # type: ignore[arg-type]
    assert first is not None
    authenticate(store, key)
    assert get_key(store, kid).last_used_at == first  # type: ignore[arg-type]  # within the minute: not written again
    earlier = first - dt.timedelta(minutes=2)
    _set(store, kid, last_used_at=earlier)  # type: ignore[arg-type]
    authenticate(store, key)
    assert get_key(store, kid).last_used_at > first  # type: ignore[arg-type,operator]
