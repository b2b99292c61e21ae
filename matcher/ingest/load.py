"""Store what the member-list parser read: good rows in one transaction, bad rows reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matcher.storage.store import Store


def member_key(name: str, country: str, given: str | None) -> str:
    """The external id of a member-list organisation: its own id, else its name and country."""
    if given:
        return f"member:{given.strip()}"
    return f"member:{' '.join(name.lower().split())}|{country.upper()}"


def import_members(store: Store, path: Path) -> dict[str, Any]:
    """Import a member list; returns ``{"imported": n, "ids": [...], "errors": [{"line", "reason"}]}``.

    Rows that parse are written together (all or none, so a crash leaves nothing
    half-written); rows that do not are reported with their line number.
    """
    from matcher.ingest.members import read_members  # openpyxl loads only when a file is imported

    rows, errors = read_members(Path(path))
    orgs = []
    for row in rows:
        org = row.organisation
        org.external_id = member_key(org.name, org.country, org.external_id)
        orgs.append(org)
    ids = store.upsert_organisations(orgs) if orgs else []
    return {"imported": len(ids), "ids": ids,
            "errors": [{"line": e.line, "reason": e.reason} for e in errors]}
