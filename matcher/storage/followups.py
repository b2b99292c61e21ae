"""What happened after a suggestion: the verdicts recorded on one question, and the staff's follow-up list.

Both read the ``feedback`` table that :func:`matcher.storage.keys.record_feedback` writes: one row per
verdict, with the key that recorded it and when. A follow-up is an organisation suggested for one
question (a challenge, or a search text) that someone asked an introduction to, contacted or partnered
with; its steps are the first time each was recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from matcher.storage import schema as t
from matcher.storage.store import Store

STEPS: tuple[str, ...] = ("introduction", "contacted", "partnered")
"""The follow-up's steps in order: introduction requested, then contacted, then partnered."""
JUDGEMENTS: tuple[str, ...] = ("relevant", "not_relevant", "contacted", "partnered")
"""The verdicts a person gives on a suggestion (an introduction request has a button of its own)."""


@dataclass(frozen=True)
class Recorder:
    """Who recorded a verdict: the key's role, label and organisation (None: the key is gone)."""

    key_id: int | None
    role: str = ""
    label: str = ""
    organisation_id: int | None = None


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    by: Recorder
    note: str = ""


@dataclass
class FollowUp:
    """One organisation suggested for one question, and the steps recorded so far (by step name)."""

    organisation_id: int
    challenge_id: int | None
    query: str
    steps: dict[str, Step] = field(default_factory=dict)

    @property
    def stage(self) -> str:
        """The furthest step reached: ``introduction``, ``contacted`` or ``partnered``."""
        return next(s for s in reversed(STEPS) if s in self.steps)

    @property
    def last(self) -> dt.datetime:
        return max(s.at for s in self.steps.values())


def _aware(stamp: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes (stored as UTC)."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def follow_ups(store: Store, limit: int = 500) -> list[FollowUp]:
    """The follow-up list, the most recently active first (at most ``limit`` entries)."""
    f, k = t.feedback.c, t.api_keys.c
    q = (select(f.organisation_id, f.challenge_id, f.query, f.verdict, f.note, f.created_at, f.key_id, k.role,
                k.label, k.organisation_id.label("key_org"))
         .outerjoin(t.api_keys, k.id == f.key_id).where(f.verdict.in_(STEPS)).order_by(f.id))
    found: dict[tuple[int, int | None, str], FollowUp] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            key = (r.organisation_id, r.challenge_id, r.query if r.challenge_id is None else "")
            item = found.setdefault(key, FollowUp(*key))
            by = Recorder(r.key_id, r.role or "", r.label or "", r.key_org)
            item.steps.setdefault(r.verdict, Step(_aware(r.created_at), by, r.note or ""))
    return sorted(found.values(), key=lambda x: x.last, reverse=True)[:limit]


def judgements(store: Store, challenge_id: int | None = None, query: str = "", key_id: int | None = None
               ) -> dict[int, dict[str, dt.datetime]]:
    """The verdicts recorded on one question, per organisation: ``{org_id: {verdict: newest time}}``.

    The question is the challenge, or without one the exact (stripped) search text, as in
    :func:`matcher.storage.keys.verdicts_for`. Of relevant and not relevant only the newer one counts.
    With ``key_id``, only the verdicts that key recorded.
    """
    f = t.feedback.c
    cond = (f.challenge_id == challenge_id if challenge_id is not None
            else (f.query == query.strip()) & f.challenge_id.is_(None))
    if key_id is not None:
        cond &= f.key_id == key_id
    out: dict[int, dict[str, dt.datetime]] = {}
    with store.engine.connect() as conn:
        for org, verdict, at in conn.execute(select(f.organisation_id, f.verdict, f.created_at).where(cond)
                                             .order_by(f.id)):
            marks = out.setdefault(int(org), {})
            if verdict in ("relevant", "not_relevant"):
                marks.pop("not_relevant" if verdict == "relevant" else "relevant", None)
            marks[verdict] = _aware(at)
    return out
