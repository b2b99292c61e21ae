"""Store what the member-list parser read: first a plan (what would be added and changed, field by
field), then the import itself, good rows in one transaction, bad rows reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from matcher.domain import Organisation
from matcher.storage import schema as t
from matcher.storage.store import Store

COMPARED: tuple[str, ...] = ("name", "kind", "sme", "country", "nuts", "city", "website", "description",
                             "capabilities", "offers", "seeks", "trl_min", "trl_max", "visibility", "contact",
                             "notes")
"""The profile fields a member list sets (every documented column but ``id``), compared by :func:`plan_members`."""


def member_key(name: str, country: str, given: str | None) -> str:
    """The external id of a member-list organisation: its own id, else its name and country."""
    if given:
        return f"member:{given.strip()}"
    return f"member:{' '.join(name.lower().split())}|{country.upper()}"


@dataclass(frozen=True)
class FieldChange:
    """One field of a stored profile that the import would change: ``old`` -> ``new``."""

    field: str
    old: Any
    new: Any


@dataclass
class PlannedRow:
    """A good row: the organisation it would store, the stored one it matches (None: new), what changes."""

    line: int
    organisation: Organisation
    stored_id: int | None = None
    changes: list[FieldChange] = field(default_factory=list)
    namesake: int | None = None  # a new row: a stored organisation of the same name and country (a duplicate?)


@dataclass
class ImportPlan:
    """What importing a member list would do, without doing it.

    Attributes:
        added: rows that would create an organisation.
        changed: rows that match a stored organisation and would change at least one field.
        unchanged: rows that match a stored organisation exactly.
        errors: rows that would not be imported (``line``, ``reason``).
    """

    added: list[PlannedRow] = field(default_factory=list)
    changed: list[PlannedRow] = field(default_factory=list)
    unchanged: list[PlannedRow] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)

    @property
    def importable(self) -> int:
        return len(self.added) + len(self.changed) + len(self.unchanged)


def _read(path: Path, max_rows: int | None) -> tuple[list[Any], list[Any]]:
    from matcher.ingest.members import read_members  # openpyxl loads only when a file is imported

    rows, errors = read_members(Path(path), max_rows)
    for row in rows:
        org = row.organisation
        org.external_id = member_key(org.name, org.country, org.external_id)
    return rows, errors


def plan_members(store: Store, path: Path, max_rows: int | None = None) -> ImportPlan:
    """What :func:`import_members` would add and change, field by field, and which rows it would refuse.

    Raises:
        InvalidInput: the file as a whole is unusable (see :func:`matcher.ingest.members.read_members`).
    """
    rows, errors = _read(path, max_rows)
    with store.engine.connect() as conn:
        stored = store.organisations_by_external_id(conn, [r.organisation.external_id for r in rows])
        namesakes = _namesakes(conn, [r.organisation for r in rows if r.organisation.external_id not in stored])
    plan = ImportPlan(errors=list(errors))
    for row in rows:
        new = row.organisation
        old = stored.get(new.external_id or "")
        if old is None:
            plan.added.append(PlannedRow(row.line, new, namesake=namesakes.get(_name_key(new.name, new.country))))
            continue
        changes = [FieldChange(f, getattr(old, f), getattr(new, f)) for f in COMPARED
                   if getattr(old, f) != getattr(new, f)]
        (plan.changed if changes else plan.unchanged).append(PlannedRow(row.line, new, old.id, changes))
    return plan


def _name_key(name: str, country: str) -> tuple[str, str]:
    return " ".join(name.lower().split()), country.upper()


def _namesakes(conn: Connection, orgs: list[Organisation]) -> dict[tuple[str, str], int]:
    """Stored organisations with the name (any case and spacing) and country of one of ``orgs``, by that key.
    An added row with a namesake (a CORDIS participant, one entered by hand) would be a second profile."""
    wanted = {_name_key(o.name, o.country) for o in orgs}
    lowered = sorted({" ".join(o.name.split()).lower() for o in orgs})
    c = t.organisations.c
    found: dict[tuple[str, str], int] = {}
    for i in range(0, len(lowered), 500):
        q = select(c.id, c.name, c.country).where(_squeezed(func.lower(c.name)).in_(lowered[i:i + 500])
                                                   ).order_by(c.id)
        for oid, name, country in conn.execute(q):
            key = _name_key(name, country)
            if key in wanted:
                found.setdefault(key, int(oid))
    return found


def _squeezed(expr: Any) -> Any:
    """``expr`` with runs of up to four spaces as one, in SQL (SQLite and PostgreSQL alike)."""
    return func.replace(func.replace(expr, "  ", " "), "  ", " ")


def import_members(store: Store, path: Path, max_rows: int | None = None) -> dict[str, Any]:
    """Import a member list; returns ``{"imported": n, "ids": [...], "errors": [{"line", "reason"}]}``.

    Rows that parse are written together (all or none, so a crash or a refused row leaves nothing
    half-written); rows that do not are reported with their line number.
    """
    rows, errors = _read(path, max_rows)
    orgs = [row.organisation for row in rows]
    ids = store.upsert_organisations(orgs) if orgs else []
    return {"imported": len(ids), "ids": ids,
            "errors": [{"line": e.line, "reason": e.reason} for e in errors]}
