"""API keys (only their SHA-256 is stored) and feedback records, on top of the store's engine."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import insert, select, update

from matcher.access import ROLES, Principal, Role
from matcher.errors import Forbidden, InvalidInput, NotFound
from matcher.storage import schema as t
from matcher.storage.store import Store, now

VERDICTS: tuple[str, ...] = ("relevant", "not_relevant", "contacted", "partnered", "introduction")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: Store, role: str, org_id: int | None = None, label: str = "") -> str:
    """Create a key and return it; it is shown once and never stored in clear."""
    if role not in ROLES:
        raise InvalidInput(f"role: expected one of {', '.join(ROLES)}")
    if role == "member" and org_id is None:
        raise InvalidInput("a member key needs --org: the organisation the member belongs to")
    if org_id is not None:
        store.get_organisation(org_id)  # NotFound for an unknown organisation
    key = "mk_" + secrets.token_urlsafe(32)
    with store.transaction() as conn:
        conn.execute(insert(t.api_keys).values(key_hash=_hash(key), prefix=key[:8], role=role,
                                               organisation_id=org_id, label=label, created_at=now(),
                                               revoked=False))
    return key


def authenticate(store: Store, key: str) -> Principal:
    """The principal of a key; :class:`Forbidden` for an unknown or revoked key."""
    with store.engine.connect() as conn:
        row = conn.execute(select(t.api_keys).where(t.api_keys.c.key_hash == _hash(key))).first()
    if row is None or row.revoked:
        raise Forbidden("invalid or revoked API key")
    return Principal(Role(row.role), row.organisation_id, row.id)


def count_keys(store: Store) -> int:
    with store.engine.connect() as conn:
        return len(conn.execute(select(t.api_keys.c.id)).all())


def revoke_key(store: Store, key_id: int) -> None:
    with store.transaction() as conn:
        if conn.execute(update(t.api_keys).where(t.api_keys.c.id == key_id).values(revoked=True)).rowcount == 0:
            raise NotFound(f"key {key_id} does not exist")


def record_feedback(store: Store, who: Principal, organisation_id: int, verdict: str,
                    challenge_id: int | None = None, query: str = "", note: str = "") -> int:
    """Store one verdict (or an introduction request) about a suggested organisation; returns its id."""
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict: expected one of {', '.join(VERDICTS)}")
    store.get_organisation(organisation_id)
    if challenge_id is not None:
        store.get_challenge(challenge_id)
    with store.transaction() as conn:
        return int(conn.execute(insert(t.feedback).values(
            key_id=who.key_id, organisation_id=organisation_id, challenge_id=challenge_id, query=query,
            verdict=verdict, note=note, created_at=now())).inserted_primary_key[0])


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
