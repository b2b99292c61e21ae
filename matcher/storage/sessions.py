"""Browser sessions: signing in with an API key gives an opaque, expiring session token.

The browser keeps only the random token (in an HTTP-only cookie); the database keeps its
SHA-256, the key's id and a per-session CSRF token. Revoking the key ends its sessions,
because the principal is read through the key on every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from matcher.access import Principal, Role
from matcher.storage import schema as t
from matcher.storage.keys import authenticate
from matcher.storage.store import Store, now

LIFETIME = dt.timedelta(hours=8)


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who it is and the token its forms must carry."""

    principal: Principal
    csrf: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sign_in(store: Store, api_key: str) -> str:
    """A new session token for a valid key; :class:`matcher.errors.Forbidden` otherwise."""
    p = authenticate(store, api_key)
    token = secrets.token_urlsafe(32)
    stamp = now()
    with store.transaction() as conn:
        conn.execute(delete(t.web_sessions).where(t.web_sessions.c.expires_at < stamp))  # tidy up
        conn.execute(insert(t.web_sessions).values(token_hash=_hash(token), key_id=p.key_id,
                                                   csrf=secrets.token_urlsafe(24), created_at=stamp,
                                                   expires_at=stamp + LIFETIME))
    return token


def lookup(store: Store, token: str) -> Session | None:
    """The live session of ``token``: None when unknown, expired, or its key was revoked."""
    if not token or len(token) > 200:
        return None
    s, k = t.web_sessions.c, t.api_keys.c
    q = (select(s.csrf, s.expires_at, k.id, k.role, k.organisation_id, k.revoked)
         .join_from(t.web_sessions, t.api_keys, s.key_id == k.id).where(s.token_hash == _hash(token)))
    with store.engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None or row.revoked or _aware(row.expires_at) < now():
        return None
    return Session(Principal(Role(row.role), row.organisation_id, row.id), row.csrf)


def sign_out(store: Store, token: str) -> None:
    with store.transaction() as conn:
        conn.execute(delete(t.web_sessions).where(t.web_sessions.c.token_hash == _hash(token)))


def csrf_ok(session: Session | None, sent: str) -> bool:
    """Constant-time check of a form's CSRF token against the session's."""
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf, sent)


def _aware(stamp: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)
