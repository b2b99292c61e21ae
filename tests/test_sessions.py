"""Browser sessions: opaque tokens, CSRF tokens, expiry, sign-out and revoked keys."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from matcher.domain import Organisation
from matcher.errors import Forbidden
from matcher.storage import schema as t
from matcher.storage import sessions
from matcher.storage.keys import create_key, revoke_key, secret_hash
from matcher.storage.store import Store


def test_a_key_signs_in_and_the_session_carries_its_role_and_a_csrf_token(sqlite_store: Store) -> None:
    [oid] = sqlite_store.upsert_organisations([Organisation("Isala", kind="hospital")])
    key = create_key(sqlite_store, "member", oid)
    token = sessions.sign_in(sqlite_store, key)
    assert key not in token and len(token) >= 40
    s = sessions.lookup(sqlite_store, token)
    assert s is not None and s.principal.role == "member" and s.principal.org_id == oid
    assert sessions.csrf_ok(s, s.csrf) and not sessions.csrf_ok(s, "forged") and not sessions.csrf_ok(s, "")
    assert sessions.lookup(sqlite_store, token + "x") is None
    sessions.sign_out(sqlite_store, token)
    assert sessions.lookup(sqlite_store, token) is None
    with pytest.raises(Forbidden):
        sessions.sign_in(sqlite_store, "mk_not-a-key")


def test_sessions_end_when_they_expire_or_their_key_is_revoked(sqlite_store: Store) -> None:
    key = create_key(sqlite_store, "staff")
    old, live = sessions.sign_in(sqlite_store, key), sessions.sign_in(sqlite_store, key)
    with sqlite_store.transaction() as conn:
        conn.execute(update(t.web_sessions).where(t.web_sessions.c.token_hash == secret_hash(old))
                     .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    assert sessions.lookup(sqlite_store, old) is None
    assert sessions.lookup(sqlite_store, live) is not None
    revoke_key(sqlite_store, sessions.lookup(sqlite_store, live).principal.key_id)  # type: ignore[union-attr,arg-type]
    assert sessions.lookup(sqlite_store, live) is None


def test_a_sign_in_link_works_once(sqlite_store: Store) -> None:
    key = create_key(sqlite_store, "admin")
    kid = sessions.lookup(sqlite_store, sessions.sign_in(sqlite_store, key)).principal.key_id  # type: ignore[union-attr]
    link = sessions.issue_link(sqlite_store, kid)  # type: ignore[arg-type]
    with sqlite_store.engine.connect() as conn:
        assert link not in {str(v) for row in conn.execute(t.signin_links.select()) for v in row}  # only its hash
    s = sessions.lookup(sqlite_store, sessions.redeem_link(sqlite_store, link))
    assert s is not None and s.principal.role == "admin" and s.principal.key_id == kid
    with pytest.raises(Forbidden, match="already used"):
        sessions.redeem_link(sqlite_store, link)
    with pytest.raises(Forbidden):
        sessions.redeem_link(sqlite_store, "made-up")


def test_a_sign_in_link_expires_and_dies_with_its_key(sqlite_store: Store) -> None:
    key = create_key(sqlite_store, "admin")
    kid = sessions.lookup(sqlite_store, sessions.sign_in(sqlite_store, key)).principal.key_id  # type: ignore[union-attr]
    stale = sessions.issue_link(sqlite_store, kid, dt.timedelta(seconds=-1))  # type: ignore[arg-type]
    with pytest.raises(Forbidden, match="expired"):
        sessions.redeem_link(sqlite_store, stale)
    live = sessions.issue_link(sqlite_store, kid)  # type: ignore[arg-type]
    revoke_key(sqlite_store, kid)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        sessions.redeem_link(sqlite_store, live)


def test_sessions_end_when_their_key_expires(sqlite_store: Store) -> None:
    key = create_key(sqlite_store, "staff", expires_days=1)
    token = sessions.sign_in(sqlite_store, key)
    assert sessions.lookup(sqlite_store, token) is not None
    with sqlite_store.transaction() as conn:
        conn.execute(update(t.api_keys).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    assert sessions.lookup(sqlite_store, token) is None
    with pytest.raises(Forbidden, match="expired"):
        sessions.sign_in(sqlite_store, key)
