"""Browser sessions: signing in with an API key gives an opaque, expiring session token.

The browser keeps only the random token (in an HTTP-only cookie); the database keeps its
SHA-256, the key's id and a per-session CSRF token. Revoking the key, or its expiry, ends its
sessions, because the principal is read through the key on every request.

A one-time sign-in link (:func:`issue_link`, printed by ``matcher serve --demo`` for the local admin)
carries a random token whose SHA-256 alone is stored; :func:`redeem_link` deletes it as it signs in,
so a link works once, and only within :data:`LINK_LIFETIME`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from matcher.access import Principal, Role
from matcher.errors import Forbidden
from matcher.messages import Message
from matcher.storage import schema as t
from matcher.storage.keys import authenticate, expired, secret_hash, touch
from matcher.storage.store import Store, now

LIFETIME = dt.timedelta(hours=8)
LINK_LIFETIME = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who it is and the token its forms must carry."""

    principal: Principal
    csrf: str



def sign_in(store: Store, api_key: str) -> str:
    """A new session token for a valid key; :class:`matcher.errors.Forbidden` otherwise."""
    p = authenticate(store, api_key)
    with store.transaction() as conn:
        return _new_session(conn, p.key_id)  # type: ignore[arg-type]


def _new_session(conn: Connection, key_id: int) -> str:
    token = secrets.token_urlsafe(32)
    stamp = now()
    conn.execute(delete(t.web_sessions).where(t.web_sessions.c.expires_at < stamp))  # tidy up
    conn.execute(insert(t.web_sessions).values(token_hash=secret_hash(token), key_id=key_id,
                                               csrf=secrets.token_urlsafe(24), created_at=stamp,
                                               expires_at=stamp + LIFETIME))
    return token


def issue_link(store: Store, key_id: int, lifetime: dt.timedelta = LINK_LIFETIME) -> str:
    """A one-time sign-in token for the key ``key_id``, valid for ``lifetime``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    stamp = now()
    with store.transaction() as conn:
        conn.execute(delete(t.signin_links).where(t.signin_links.c.expires_at < stamp))  # tidy up
        conn.execute(insert(t.signin_links).values(token_hash=secret_hash(token), key_id=key_id, created_at=stamp,
                                                   expires_at=stamp + lifetime))
    return token


def redeem_link(store: Store, token: str) -> str:
    """A new session token for a one-time sign-in token, which is used up by this call (also when it
    turns out expired). :class:`Forbidden` for an unknown, used or expired link, or a key that was
    revoked or expired since."""
    if not token or len(token) > 200:
        raise Forbidden(Message("this sign-in link is not valid"))
    link, k = t.signin_links.c, t.api_keys.c
    with store.transaction() as conn:
        row = conn.execute(select(link.key_id, link.expires_at, k.revoked, k.expires_at.label("key_expires"))
                           .join_from(t.signin_links, t.api_keys, link.key_id == k.id)
                           .where(link.token_hash == secret_hash(token))).first()
        # the delete decides: of two requests with the same link, only one deletes the row
        used = conn.execute(delete(t.signin_links).where(link.token_hash == secret_hash(token))).rowcount
        if row is None or used != 1 or _aware(row.expires_at) < now():
            reason = Message("this sign-in link has expired or was already used")
        elif row.revoked or expired(row.key_expires):
            reason = Message("the key of this sign-in link has been revoked or has expired")
        else:
            return _new_session(conn, row.key_id)
    raise Forbidden(reason)  # after the commit: the link is used up either way


def lookup(store: Store, token: str) -> Session | None:
    """The live session of ``token``: None when unknown, expired, or its key was revoked or expired."""
    if not token or len(token) > 200:
        return None
    s, k = t.web_sessions.c, t.api_keys.c
    q = (select(s.csrf, s.expires_at, k.id, k.role, k.organisation_id, k.revoked, k.last_used_at,
                k.expires_at.label("key_expires"))
         .join_from(t.web_sessions, t.api_keys, s.key_id == k.id).where(s.token_hash == secret_hash(token)))
    with store.engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None or row.revoked or _aware(row.expires_at) < now() or expired(row.key_expires):
        return None
    touch(store, row.id, row.last_used_at)
    return Session(Principal(Role(row.role), row.organisation_id, row.id), row.csrf)


def sign_out(store: Store, token: str) -> None:
    with store.transaction() as conn:
        conn.execute(delete(t.web_sessions).where(t.web_sessions.c.token_hash == secret_hash(token)))


def csrf_ok(session: Session | None, sent: str) -> bool:
    """Constant-time check of a form's CSRF token against the session's."""
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf, sent)


def _aware(stamp: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)
