"""Shortlists: the organisations cluster staff (or a challenge's owner) keep for a challenge, with a note.

Kept beside the store (on its engine, like :mod:`matcher.storage.keys`); shortlists are working
lists for people, not evidence, so they do not move the change number the indexes follow.
Who may change a shortlist is decided by :func:`matcher.access.can_edit_challenge` at the edge.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from matcher.domain import Organisation
from matcher.errors import InvalidInput, NotFound
from matcher.messages import Message
from matcher.storage import schema as t
from matcher.storage.store import Store, now

MAX_NOTE = 2000
CSV_COLUMNS = ("position", "organisation_id", "name", "kind", "sme", "country", "nuts", "city", "website",
               "note", "added_at")


@dataclass
class ShortlistEntry:
    """One organisation on a challenge's shortlist."""

    organisation: Organisation
    note: str
    added_at: str


def add(store: Store, challenge_id: int, organisation_id: int, added_by: int | None = None,
        note: str = "") -> bool:
    """Put an organisation on a challenge's shortlist; False when it was there already (note kept)."""
    _check_note(note)
    store.get_challenge(challenge_id)
    store.get_organisation(organisation_id)
    with store.transaction() as conn:
        if conn.execute(select(t.shortlists.c.note).where(_key(challenge_id, organisation_id))).first():
            return False
        stamp = now()
        conn.execute(insert(t.shortlists).values(challenge_id=challenge_id, organisation_id=organisation_id,
                                                 note=note.strip(), added_by=added_by, created_at=stamp,
                                                 updated_at=stamp))
    return True


def remove(store: Store, challenge_id: int, organisation_id: int) -> None:
    with store.transaction() as conn:
        if conn.execute(delete(t.shortlists).where(_key(challenge_id, organisation_id))).rowcount == 0:
            raise NotFound(Message("organisation {id} is not on the shortlist of challenge {challenge}",
                                   id=organisation_id, challenge=challenge_id))


def set_note(store: Store, challenge_id: int, organisation_id: int, note: str) -> None:
    _check_note(note)
    with store.transaction() as conn:
        res = conn.execute(update(t.shortlists).where(_key(challenge_id, organisation_id))
                           .values(note=note.strip(), updated_at=now()))
        if res.rowcount == 0:
            raise NotFound(Message("organisation {id} is not on the shortlist of challenge {challenge}",
                                   id=organisation_id, challenge=challenge_id))


def entries(store: Store, challenge_id: int) -> list[ShortlistEntry]:
    """The shortlist of a challenge in the order organisations were added."""
    q = (select(t.shortlists.c.organisation_id, t.shortlists.c.note, t.shortlists.c.created_at)
         .where(t.shortlists.c.challenge_id == challenge_id)
         .order_by(t.shortlists.c.created_at, t.shortlists.c.organisation_id))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    orgs = store.get_organisations([r.organisation_id for r in rows])
    return [ShortlistEntry(orgs[r.organisation_id], r.note, r.created_at.isoformat(timespec="seconds"))
            for r in rows if r.organisation_id in orgs]


def to_csv(items: Sequence[ShortlistEntry], staff_fields: bool = False) -> str:
    """The shortlist as CSV text (UTF-8, a header row); ``staff_fields`` adds the staff-only contact.

    >>> entry = ShortlistEntry(Organisation("Lab X", id=3, country="NL"), "call Monday", "2025-01-02")
    >>> to_csv([entry]).splitlines()[1]
    '1,3,Lab X,other,no,NL,,,,call Monday,2025-01-02'
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(("contact",) if staff_fields else ())])
    for pos, e in enumerate(items, 1):
        o = e.organisation
        row = [pos, o.id, o.name, o.kind, "yes" if o.sme else "no", o.country, o.nuts, o.city, o.website,
               e.note, e.added_at]
        writer.writerow([_safe_cell(x) for x in row] + ([_safe_cell(o.contact)] if staff_fields else []))
    return out.getvalue()


def _safe_cell(value: object) -> object:
    """Text cells starting with = + - @ are prefixed with ' so spreadsheets do not run them as formulas."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _key(challenge_id: int, organisation_id: int):  # type: ignore[no-untyped-def]
    return (t.shortlists.c.challenge_id == challenge_id) & (t.shortlists.c.organisation_id == organisation_id)


def _check_note(note: str) -> None:
    if len(note) > MAX_NOTE:
        raise InvalidInput(Message("note: at most {most} characters", most=MAX_NOTE))
