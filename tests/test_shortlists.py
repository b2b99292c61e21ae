"""Shortlists on SQLite and PostgreSQL: add, note, remove, order, CSV, and cascade with the challenge."""

from __future__ import annotations

import csv
import io

import pytest

from matcher.domain import Challenge, Organisation
from matcher.errors import InvalidInput, NotFound
from matcher.storage import shortlists
from matcher.storage.store import Store


def _world(store: Store) -> tuple[int, list[int]]:
    ids = store.upsert_organisations([
        Organisation("Isala", kind="hospital", country="NL", contact="k.de.vries@isala.example"),
        Organisation("=cmd|' /C calc'!A0", kind="startup", country="NL", nuts="NL211", sme=True),
        Organisation("Lab Twente", kind="university", country="NL", city="Enschede")])
    cid = store.save_challenge(Challenge("Valpreventie", "Sensoren die vallen voorspellen.", posed_by=ids[0]))
    return cid, ids


def test_add_note_remove_keep_order_and_refuse_duplicates(store: Store) -> None:
    cid, (_h, a, b) = _world(store)
    assert shortlists.add(store, cid, b, note="first")
    assert shortlists.add(store, cid, a)
    assert not shortlists.add(store, cid, b, note="again")  # already there: the note is kept
    assert [(e.organisation.id, e.note) for e in shortlists.entries(store, cid)] == [(b, "first"), (a, "")]
    shortlists.set_note(store, cid, a, "  pilot in March ")
    assert shortlists.entries(store, cid)[1].note == "pilot in March"
    shortlists.remove(store, cid, b)
    assert [e.organisation.id for e in shortlists.entries(store, cid)] == [a]
    with pytest.raises(NotFound):
        shortlists.remove(store, cid, b)
    with pytest.raises(NotFound):
        shortlists.add(store, 999, a)
    with pytest.raises(InvalidInput):
        shortlists.set_note(store, cid, a, "x" * (shortlists.MAX_NOTE + 1))
    store.delete_challenge(cid)
    assert shortlists.entries(store, cid) == []


def test_csv_has_a_row_per_entry_guards_formulas_and_adds_contact_only_for_staff(store: Store) -> None:
    cid, (h, a, b) = _world(store)
    for oid in (a, h):
        shortlists.add(store, cid, oid, note="+31 6 1234")
    items = shortlists.entries(store, cid)
    rows = list(csv.DictReader(io.StringIO(shortlists.to_csv(items))))
    assert [r["position"] for r in rows] == ["1", "2"]
    assert rows[0]["name"] == "'=cmd|' /C calc'!A0" and rows[0]["note"] == "'+31 6 1234"
    assert rows[0]["sme"] == "yes" and rows[0]["nuts"] == "NL211" and "contact" not in rows[0]
    staff = list(csv.DictReader(io.StringIO(shortlists.to_csv(items, staff_fields=True))))
    assert staff[1]["contact"] == "k.de.vries@isala.example"
