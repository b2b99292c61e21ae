"""Uploaded member lists kept between their preview and their import.

A staff member previews a file, reads what it would add and change, then confirms. The file waits in
the database (not on one worker's disk), under a random token that only the uploading key may redeem,
for at most :data:`LIFETIME`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from matcher.errors import NotFound
from matcher.messages import Message
from matcher.storage import schema as t
from matcher.storage.keys import secret_hash
from matcher.storage.store import Store, now

LIFETIME = dt.timedelta(hours=1)


@dataclass(frozen=True)
class PendingImport:
    filename: str
    data: bytes



def keep(store: Store, key_id: int, filename: str, data: bytes) -> str:
    """Keep an uploaded file for ``key_id``; returns the token that redeems it. Expired ones are dropped."""
    token = secrets.token_urlsafe(24)
    stamp = now()
    with store.transaction() as conn:
        conn.execute(delete(t.pending_imports).where(t.pending_imports.c.created_at < stamp - LIFETIME))
        conn.execute(insert(t.pending_imports).values(token_hash=secret_hash(token), key_id=key_id,
                                                      filename=filename[:300], data=data, created_at=stamp))
    return token


def fetch(store: Store, key_id: int, token: str) -> PendingImport:
    """The file kept under ``token`` for ``key_id``; NotFound when it is unknown, another key's or expired."""
    c = t.pending_imports.c
    with store.engine.connect() as conn:
        row = conn.execute(select(c.filename, c.data, c.created_at).where(
            (c.token_hash == secret_hash(token)) & (c.key_id == key_id))).first()
    if row is None or _aware(row.created_at) < now() - LIFETIME:
        raise NotFound(Message("this preview has expired or was already imported; upload the file again"))
    return PendingImport(row.filename, bytes(row.data))


def discard(store: Store, token: str) -> None:
    with store.transaction() as conn:
        conn.execute(delete(t.pending_imports).where(t.pending_imports.c.token_hash == secret_hash(token)))


def _aware(stamp: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes (stored as UTC)."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)
