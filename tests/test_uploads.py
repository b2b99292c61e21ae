"""Member lists waiting between preview and import, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from matcher.errors import NotFound
from matcher.storage import schema as t
from matcher.storage import uploads
from matcher.storage.keys import authenticate, create_key
from matcher.storage.store import Store, now


def test_kept_file_is_fetched_by_its_key_only_until_discarded(store: Store) -> None:
    mine = authenticate(store, create_key(store, "staff")).key_id or 0
    other = authenticate(store, create_key(store, "staff")).key_id or 0
    data = b"name,kind,description\n\xc3\x89\xc3\xa9n BV,sme,x\n" * 1000
    token = uploads.keep(store, mine, "leden.csv", data)
    got = uploads.fetch(store, mine, token)
    assert (got.filename, got.data) == ("leden.csv", data)
    with pytest.raises(NotFound, match="expired or was already imported"):
        uploads.fetch(store, other, token)  # another key cannot redeem it
    with pytest.raises(NotFound):
        uploads.fetch(store, mine, token + "x")
    uploads.discard(store, token)
    with pytest.raises(NotFound):
        uploads.fetch(store, mine, token)


def test_expired_files_are_refused_and_dropped_by_the_next_upload(store: Store) -> None:
    key = authenticate(store, create_key(store, "staff")).key_id or 0
    old = uploads.keep(store, key, "old.csv", b"x")
    with store.transaction() as conn:
        conn.execute(update(t.pending_imports).values(created_at=now() - uploads.LIFETIME * 2))
    with pytest.raises(NotFound):
        uploads.fetch(store, key, old)
    uploads.keep(store, key, "new.csv", b"y")
    with store.engine.connect() as conn:
        assert [r.filename for r in conn.execute(t.pending_imports.select())] == ["new.csv"]
