"""API keys (only their SHA-256 is stored) and feedback records, on top of the store's engine.

A key is checked against the database on every request (:func:`authenticate`), never cached in a
process: revoking a key, or its expiry, refuses it at once on every worker and every host that
shares the database. Its last use is written at most once a minute (:data:`TOUCH_EVERY`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from matcher.access import LOCAL_ADMIN, ROLES, Principal, Role
from matcher.errors import Forbidden, InvalidInput, NotFound
from matcher.messages import Message
from matcher.storage import audit
from matcher.storage import schema as t
from matcher.storage.store import Store, now

VERDICTS: tuple[str, ...] = ("relevant", "not_relevant", "contacted", "partnered", "introduction")
MAX_EXPIRY_DAYS = 3650
TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never the key, only its first characters (``prefix``)."""

    id: int
    prefix: str
    role: str
    organisation_id: int | None
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked: bool

    def status(self, at: dt.datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked`` (revoked wins)."""
        if self.revoked:
            return "revoked"
        return "expired" if expired(self.expires_at, at) else "active"

    def to_dict(self) -> dict[str, Any]:
        def iso(d: dt.datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {"id": self.id, "prefix": self.prefix, "role": self.role, "organisation_id": self.organisation_id,
                "label": self.label, "created_at": iso(self.created_at), "last_used_at": iso(self.last_used_at),
                "expires_at": iso(self.expires_at), "revoked_at": iso(self.revoked_at), "status": self.status()}


def secret_hash(secret: str) -> str:
    """What is stored of a secret (a key, a session or link token): its hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(stamp: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return stamp if stamp is None or stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def expired(expires_at: dt.datetime | None, at: dt.datetime | None = None) -> bool:
    stamp = _aware(expires_at)
    return stamp is not None and stamp <= (at or now())


def _info(row: Any) -> KeyInfo:
    return KeyInfo(row.id, row.prefix, row.role, row.organisation_id, row.label, _aware(row.created_at),  # type: ignore[arg-type]
                   _aware(row.last_used_at), _aware(row.expires_at), _aware(row.revoked_at), bool(row.revoked))


def issue_key(store: Store, role: str, org_id: int | None = None, label: str = "", expires_days: int | None = None,
              actor: Principal = LOCAL_ADMIN) -> tuple[str, KeyInfo]:
    """Create a key: ``(key, info)``. The key is shown once and never stored in clear; ``actor`` is
    recorded in the audit log, in the same transaction."""
    if role not in ROLES:
        raise InvalidInput(Message("role: expected one of {expected}", expected=", ".join(ROLES)))
    if role == "member" and org_id is None:
        raise InvalidInput(Message("a member key needs --org: the organisation the member belongs to"))
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(Message("expires: between 1 and {most} days", most=MAX_EXPIRY_DAYS))
    if org_id is not None:
        store.get_organisation(org_id)  # NotFound for an unknown organisation
    key = "mk_" + secrets.token_urlsafe(32)
    stamp = now()
    expires_at = stamp + dt.timedelta(days=expires_days) if expires_days is not None else None
    with store.transaction() as conn:
        kid = int(conn.execute(insert(t.api_keys).values(
            key_hash=secret_hash(key), prefix=key[:8], role=role, organisation_id=org_id, label=label, created_at=stamp,
            revoked=False, expires_at=expires_at)).inserted_primary_key[0])
        audit.record(conn, actor, "key.create", f"key:{kid}", {"role": role, "organisation_id": org_id,
                                                                "label": label, "expires_days": expires_days})
        row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == kid)).one()
    return key, _info(row)


def create_key(store: Store, role: str, org_id: int | None = None, label: str = "",
               expires_days: int | None = None, actor: Principal = LOCAL_ADMIN) -> str:
    """Create a key and return it (:func:`issue_key` without the record)."""
    return issue_key(store, role, org_id, label, expires_days, actor)[0]


def authenticate(store: Store, key: str) -> Principal:
    """The principal of a key; :class:`Forbidden` for an unknown, revoked or expired key. Read from the
    database every time (no cache), so a revocation holds at once everywhere."""
    with store.engine.connect() as conn:
        row = conn.execute(select(t.api_keys).where(t.api_keys.c.key_hash == secret_hash(key))).first()
    if row is None or row.revoked:
        raise Forbidden(Message("invalid or revoked API key"))
    if expired(row.expires_at):
        raise Forbidden(Message("this API key has expired"))
    touch(store, row.id, row.last_used_at)
    return Principal(Role(row.role), row.organisation_id, row.id)


def touch(store: Store, key_id: int, last_used_at: dt.datetime | None) -> None:
    """Note that the key was used, at most once per :data:`TOUCH_EVERY` (the conditional update keeps
    concurrent workers from writing it twice). ``last_used_at`` is the value the caller read."""
    stamp = now()
    last = _aware(last_used_at)
    if last is not None and stamp - last < TOUCH_EVERY:
        return
    k = t.api_keys.c
    with store.transaction() as conn:
        conn.execute(update(t.api_keys).where(k.id == key_id, or_(
            k.last_used_at.is_(None), k.last_used_at < stamp - TOUCH_EVERY)).values(last_used_at=stamp))


def count_keys(store: Store) -> int:
    with store.engine.connect() as conn:
        return len(conn.execute(select(t.api_keys.c.id)).all())


def list_keys(store: Store) -> list[KeyInfo]:
    """Every key, newest first (revoked and expired ones too)."""
    with store.engine.connect() as conn:
        return [_info(r) for r in conn.execute(select(t.api_keys).order_by(t.api_keys.c.id.desc()))]


def get_key(store: Store, key_id: int, conn: Connection | None = None) -> KeyInfo:
    if conn is None:
        with store.engine.connect() as c:
            return get_key(store, key_id, c)
    row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(Message("key {id} does not exist", id=key_id))
    return _info(row)


def revoke_key(store: Store, key_id: int, actor: Principal = LOCAL_ADMIN) -> KeyInfo:
    """Revoke a key (its sessions and sign-in links end with it) and return it. Revoking a revoked key
    changes nothing and records nothing."""
    k = t.api_keys.c
    with store.transaction() as conn:
        info = get_key(store, key_id, conn)
        if info.revoked:
            return info
        conn.execute(update(t.api_keys).where(k.id == key_id).values(revoked=True, revoked_at=now()))
        conn.execute(delete(t.web_sessions).where(t.web_sessions.c.key_id == key_id))
        conn.execute(delete(t.signin_links).where(t.signin_links.c.key_id == key_id))
        audit.record(conn, actor, "key.revoke", f"key:{key_id}", {"role": info.role, "label": info.label})
        return get_key(store, key_id, conn)


def record_feedback(store: Store, who: Principal, organisation_id: int, verdict: str,
                    challenge_id: int | None = None, query: str = "", note: str = "") -> int:
    """Store one verdict (or an introduction request) about a suggested organisation, and its audit
    record in the same transaction; returns its id."""
    if verdict not in VERDICTS:
        raise InvalidInput(Message("verdict: expected one of {expected}", expected=", ".join(VERDICTS)))
    store.get_organisation(organisation_id)
    if challenge_id is not None:
        store.get_challenge(challenge_id)
    with store.transaction() as conn:
        fid = int(conn.execute(insert(t.feedback).values(
            key_id=who.key_id, organisation_id=organisation_id, challenge_id=challenge_id, query=query,
            verdict=verdict, note=note, created_at=now())).inserted_primary_key[0])
        action = "introduction.request" if verdict == "introduction" else "feedback.record"
        audit.record(conn, who, action, f"organisation:{organisation_id}",
                     {"feedback_id": fid, "verdict": verdict, "challenge_id": challenge_id, "query": query})
        return fid


def list_feedback(store: Store, verdict: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    q = select(t.feedback).order_by(t.feedback.c.id.desc()).limit(limit)
    if verdict:
        q = q.where(t.feedback.c.verdict == verdict)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    for r in rows:
        r["created_at"] = r["created_at"].isoformat()
    return rows


def verdicts_for(store: Store, challenge_id: int | None = None, query: str = "") -> dict[int, str]:
    """The newest verdict per organisation given on this challenge (or, without one, this exact
    query text); introduction requests count as interest. Used to re-rank the same question."""
    cond = (t.feedback.c.challenge_id == challenge_id if challenge_id is not None
            else (t.feedback.c.query == query.strip()) & t.feedback.c.challenge_id.is_(None))
    q = select(t.feedback.c.organisation_id, t.feedback.c.verdict).where(cond).order_by(t.feedback.c.id)
    with store.engine.connect() as conn:
        return {int(o): str(v) for o, v in conn.execute(q)}


def feedback_for_training(store: Store) -> list[dict[str, Any]]:
    """Every verdict with the text it was given on (the query, or the challenge's title and
    description) and the organisation's external id, so that it can be matched to a training
    catalogue: ``[{"query", "external_id", "verdict"}]``. Verdicts on organisations without an
    external id (entered by hand) cannot be matched and are left out."""
    f, o, c = t.feedback.c, t.organisations.c, t.challenges.c
    q = (select(f.query, f.verdict, o.external_id, c.title, c.description)
         .join(t.organisations, o.id == f.organisation_id)
         .outerjoin(t.challenges, c.id == f.challenge_id)
         .where(o.external_id.is_not(None)))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [{"query": (f"{r.title}. {r.description}" if r.title else r.query).strip(), "external_id": r.external_id,
             "verdict": r.verdict} for r in rows if (r.title or r.query or "").strip()]
