"""The audit log: every change a person makes, with who (key, role, organisation), when, what and to what.

One call records an entry; pass the connection of the write it describes so that the change and its
record commit together (or the store, for a transaction of its own)::

    with store.transaction() as conn:
        cid = store.save_challenge(ch, conn)
        audit.record(conn, principal, "challenge.create", f"challenge:{cid}", {"title": ch.title})

Actions are ``<thing>.<verb>``: ``key.create``, ``key.revoke``, ``organisation.create``,
``organisation.update``, ``organisation.delete``, ``organisations.import``, ``challenge.create``,
``challenge.update``, ``challenge.delete``, ``feedback.record``, ``introduction.request``,
``shortlist.add``, ``shortlist.note``, ``shortlist.remove``. Targets are ``<thing>:<id>`` (or a
collection's name, as ``organisations`` for an import). The detail is a small JSON object: field
names rather than their values (values may be confidential), counts, a title; long strings and
lists are cut (:data:`MAX_STRING`, :data:`MAX_ITEMS`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from matcher.access import Principal
from matcher.messages import Message
from matcher.storage import schema as t
from matcher.storage.store import Store, now

MAX_STRING = 200
MAX_ITEMS = 20
MAX_LIMIT = 1000


@dataclass(frozen=True)
class AuditEntry:
    """One recorded change. ``key_id`` is None for the local admin at the command line."""

    id: int
    at: dt.datetime
    key_id: int | None
    role: str
    organisation_id: int | None
    action: str
    target: str
    detail: dict[str, Any]

    @property
    def who(self) -> str:
        """In words: ``"admin key #3"``, ``"member key #7 (organisation #12)"``, ``"local admin (CLI)"``."""
        role = Message(self.role)  # admin, staff, member or viewer: each is in the web UI's catalogue
        if self.key_id is None:
            return Message("local {role} (CLI)", role=role)
        if self.organisation_id is None:
            return Message("{role} key #{id}", role=role, id=self.key_id)
        return Message("{role} key #{id} (organisation #{org})", role=role, id=self.key_id, org=self.organisation_id)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


def small(value: Any, depth: int = 0) -> Any:
    """``value`` cut down to a small JSON value: strings to :data:`MAX_STRING` characters, lists and
    objects to :data:`MAX_ITEMS` items, three levels deep; anything else JSON cannot hold as text.

    >>> small({"ids": list(range(30))})["ids"][-1]
    19
    """
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[:MAX_STRING - 1] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 3:
        return small(str(value), depth)
    if isinstance(value, dict):
        return {str(k)[:64]: small(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
        return [small(v, depth + 1) for v in items[:MAX_ITEMS]]
    return small(str(value), depth)


def record(conn_or_store: Connection | Store, actor: Principal, action: str, target: str,
           detail: dict[str, Any] | None = None) -> None:
    """Record that ``actor`` did ``action`` to ``target``; in the transaction of ``conn_or_store`` when it
    is a connection (so it commits with the change), else in a transaction of its own."""
    if isinstance(conn_or_store, Store):
        with conn_or_store.transaction() as conn:
            record(conn, actor, action, target, detail)
        return
    conn_or_store.execute(insert(t.audit_log).values(
        created_at=now(), key_id=actor.key_id, role=actor.role.value, organisation_id=actor.org_id,
        action=action[:64], target=target[:64], detail=small(detail or {})))


def record_import(conn_or_store: Connection | Store, actor: Principal, file_name: str,
                  report: dict[str, Any]) -> None:
    """Record a member-list import (``report`` as :func:`matcher.ingest.load.import_members` returns it),
    when it wrote anything."""
    if report.get("imported"):
        record(conn_or_store, actor, "organisations.import", "organisations", {
            "file": file_name, "imported": report["imported"], "rejected": len(report.get("errors") or []),
            "ids": report.get("ids") or []})


def entries(store: Store, since: dt.datetime | None = None, limit: int = 100,
            action: str | None = None) -> list[AuditEntry]:
    """The newest ``limit`` entries (at most :data:`MAX_LIMIT`), newest first; only those at or after
    ``since`` (naive means UTC) and, with ``action``, only that action."""
    a = t.audit_log.c
    q = select(t.audit_log).order_by(a.id.desc()).limit(max(1, min(limit, MAX_LIMIT)))
    if since is not None:
        q = q.where(a.created_at >= (since.astimezone(dt.timezone.utc) if since.tzinfo
                                     else since.replace(tzinfo=dt.timezone.utc)))
    if action:
        q = q.where(a.action == action)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [AuditEntry(r.id, _aware(r.created_at), r.key_id, r.role, r.organisation_id, r.action, r.target,
                       dict(r.detail or {})) for r in rows]


def _aware(stamp: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)
