"""Member-list imports on a real SQLite store: the plan (added, changed field by field, bad rows), the import
in one transaction (a refused row leaves the database as it was), the row limit and the templates."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from matcher.errors import InvalidInput
from matcher.ingest.load import FieldChange, import_members, plan_members
from matcher.ingest.members import MEMBER_COLUMNS, read_members
from matcher.ingest.template import EXAMPLE, template_csv, template_xlsx
from matcher.storage import schema as t
from matcher.storage.store import Store

FIRST = [
    {"id": "M-1", "name": "Oost Ziekenhuis", "kind": "hospital", "country": "NL", "city": "Hengelo",
     "description": "Teaching hospital with heart failure pilots.", "contact": "a@oost.example"},
    {"id": "M-2", "name": "Twente Sensors BV", "kind": "startup", "country": "NL",
     "description": "Wearable ECG patch.", "capabilities": "ECG; wearables"},
]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def snapshot(store: Store) -> dict[str, Any]:
    """Everything an import may touch: the organisations, evidence, texts and the change number."""
    with store.engine.connect() as conn:
        orgs = [tuple(r) for r in conn.execute(select(t.organisations).order_by(t.organisations.c.id))]
        counts = {tab.name: conn.execute(select(func.count()).select_from(tab)).scalar_one()
                  for tab in (t.evidence, t.texts, t.changes)}
    return {"orgs": orgs, **counts, "change_no": store.change_no()}


def test_plan_shows_added_changed_by_field_unchanged_and_bad_rows(store: Store, tmp_path: Path) -> None:
    sqlite_store = store  # both databases
    import_members(sqlite_store, write_csv(tmp_path / "first.csv", FIRST))
    before = snapshot(sqlite_store)
    second = [
        {**FIRST[0], "city": "Enschede", "contact": ""},  # line 2: two fields change
        FIRST[1],  # line 3: as stored
        {"id": "M-3", "name": "Gelderse Revalidatie BV", "kind": "sme", "description": "Gait trainers."},  # new
        {"id": "M-4", "name": "No Kind BV", "kind": "", "description": "x"},  # line 5: bad
        {"id": "M-5", "name": "Upside Down BV", "kind": "sme", "description": "x", "trl_min": "7", "trl_max": "2"},
    ]
    plan = plan_members(sqlite_store, write_csv(tmp_path / "second.csv", second))
    assert [r.organisation.name for r in plan.added] == ["Gelderse Revalidatie BV"]
    assert [r.line for r in plan.unchanged] == [3]
    [changed] = plan.changed
    assert changed.line == 2 and changed.stored_id == sqlite_store.find_organisation("member:M-1").id  # type: ignore[union-attr]
    assert changed.changes == [FieldChange("city", "Hengelo", "Enschede"), FieldChange("contact", "a@oost.example", "")]
    assert [(e.line, e.reason.split(":")[0]) for e in plan.errors] == [(5, "kind"), (6, "trl_min")]
    assert plan.importable == 3
    assert snapshot(sqlite_store) == before  # a plan writes nothing

    report = import_members(sqlite_store, write_csv(tmp_path / "second.csv", second))
    assert report["imported"] == 3 and [e["line"] for e in report["errors"]] == [5, 6]
    assert sqlite_store.find_organisation("member:M-1").city == "Enschede"  # type: ignore[union-attr]
    assert plan_members(sqlite_store, tmp_path / "second.csv").changed == []  # imported: nothing left to change


def test_a_refused_row_leaves_the_database_as_it_was(sqlite_store: Store, tmp_path: Path) -> None:
    """The database refuses the last row (a real trigger, as a full disk or a constraint would): the
    changed and the new rows before it are not written either."""
    import_members(sqlite_store, write_csv(tmp_path / "first.csv", FIRST))
    with sqlite_store.engine.begin() as conn:
        conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON organisations WHEN NEW.name = 'Refused BV' "
                          "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"))
    before = snapshot(sqlite_store)
    rows = [{**FIRST[0], "description": "Changed text that must not be stored."},
            {"id": "M-9", "name": "New BV", "kind": "sme", "description": "Must not be stored."},
            {"id": "M-10", "name": "Refused BV", "kind": "sme", "description": "The database refuses this row."}]
    path = write_csv(tmp_path / "refused.csv", rows)
    assert len(plan_members(sqlite_store, path).added) == 2  # the plan cannot know; the import must not half-write
    with pytest.raises(Exception, match="refused by the test trigger"):
        import_members(sqlite_store, path)
    assert snapshot(sqlite_store) == before
    assert sqlite_store.find_organisation("member:M-9") is None


def test_more_rows_than_the_limit_are_refused_with_the_count(sqlite_store: Store, tmp_path: Path) -> None:
    rows = [{"name": f"Member {i}", "kind": "sme", "description": "x"} for i in range(11)]
    path = write_csv(tmp_path / "many.csv", rows)
    with pytest.raises(InvalidInput, match=r"^many\.csv: 11 rows, more than the 10 one file may hold"):
        plan_members(sqlite_store, path, max_rows=10)
    with pytest.raises(InvalidInput, match="11 rows"):
        import_members(sqlite_store, path, max_rows=10)
    assert sqlite_store.count_organisations() == 0
    assert plan_members(sqlite_store, path, max_rows=11).importable == 11


@pytest.mark.parametrize(("suffix", "make"), [(".csv", template_csv), (".xlsx", template_xlsx)])
def test_templates_read_back_as_the_example_row(tmp_path: Path, suffix: str, make: Any) -> None:
    path = tmp_path / f"template{suffix}"
    path.write_bytes(make())
    rows, errors = read_members(path)
    assert errors == [] and len(rows) == 1
    org = rows[0].organisation
    assert (org.name, org.kind, org.sme, org.trl_min, org.trl_max) == (EXAMPLE["name"], "startup", True, 5, 7)
    assert org.capabilities == ["wearable sensors", "remote monitoring", "signal processing"]
    assert set(EXAMPLE) == set(MEMBER_COLUMNS)


def test_a_new_row_named_like_a_stored_organisation_is_flagged(store: Store, tmp_path: Path) -> None:
    """A member list row for an organisation that is already here (from CORDIS, or typed in by hand) would
    become a second profile: the plan names the stored one."""
    from matcher.domain import Organisation

    [cordis] = store.upsert_organisations([Organisation("UNIVERSITEIT  TWENTE", kind="university", country="NL",
                                                        external_id="pic:999", source="cordis")])
    rows = [{"name": "Universiteit Twente", "kind": "university", "country": "nl", "description": "x"},
            {"name": "Universiteit Twente", "kind": "university", "country": "DE", "description": "y"},
            {"name": "Saxion", "kind": "university", "country": "NL", "description": "z"}]
    plan = plan_members(store, write_csv(tmp_path / "namesakes.csv", rows))
    assert [(r.organisation.country, r.namesake) for r in plan.added] == [("NL", cordis), ("DE", None), ("NL", None)]
