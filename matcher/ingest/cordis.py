"""Import CORDIS project exports (projects.csv.gz + participants.csv.gz), read by column name.

Organisations are keyed by their PIC (``pic:<organisation_id>``), projects by
their grant number (``cordis:<project_id>``); importing the same folder twice
adds nothing and changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from matcher.domain import Organisation, Project
from matcher.errors import InvalidInput, NotFound
from matcher.storage.store import Store
from matcher.text import project_text

_HOSPITAL = re.compile(
    r"ziekenhuis|hospita|universitair medisch centrum|university medical cent|medisch centrum|"
    r"medical cent(er|re)|klinikum|\bklinik|clinic|h[oô]pital|ospedal|szpital|nemocnice|sairaala|sjukhus|"
    r"sygehus|\bchu\b|centre hospitalier|\bumc\b|charit[eé]|policlinico|kórház|bolnica|spital\b|"
    r"medisch spectrum|klinieken|\bkliniek\b|ziekenhuizen", re.IGNORECASE)
_CARE = re.compile(r"zorggroep|thuiszorg|verpleeg|nursing home|care home|zorginstelling|woonzorg|"
                   r"pflegeheim|elderly care|revalidatie|rehabilitation cent(er|re)", re.IGNORECASE)
_KIND_BY_ACTIVITY = {"HES": "university", "REC": "research_institute", "PUB": "public_body", "OTH": "other"}
Tick = Callable[[int], None]


def org_kind(name: str, activity_type: str, sme: bool) -> str:
    """The organisation kind from a CORDIS activity type, SME flag and name.

    >>> org_kind("STICHTING RADBOUD UNIVERSITAIR MEDISCH CENTRUM", "HES", False)
    'hospital'
    >>> org_kind("LIONIX INTERNATIONAL BV", "PRC", True)
    'sme'
    """
    if _HOSPITAL.search(name):
        return "hospital"
    if _CARE.search(name):
        return "care_institution"
    if activity_type == "PRC":
        return "sme" if sme else "large_company"
    return _KIND_BY_ACTIVITY.get(activity_type, "other")


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise NotFound(f"{path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
        return list(csv.DictReader(fh))


@dataclass
class CordisData:
    """The rows of one CORDIS folder, as read (no filtering)."""

    projects: dict[str, dict[str, str]]
    participants: list[dict[str, str]]

    @classmethod
    def read(cls, folder: Path) -> CordisData:
        folder = Path(folder)
        projects = _read(folder / "projects.csv.gz")
        participants = _read(folder / "participants.csv.gz")
        for name, rows, need in (("projects", projects, {"project_id", "title", "objective", "start_date"}),
                                 ("participants", participants, {"project_id", "organisation_id", "name",
                                                                 "activity_type", "role", "country"})):
            missing = need - set(rows[0] if rows else need)
            if missing:
                raise InvalidInput(f"{folder}/{name}.csv.gz lacks columns: {', '.join(sorted(missing))}")
        return cls({p["project_id"]: p for p in projects}, participants)

    def subset(self, keep: Callable[[dict[str, str]], bool]) -> CordisData:
        """Only the projects for which ``keep(project_row)`` is true, and their participants."""
        projects = {k: p for k, p in self.projects.items() if keep(p)}
        return CordisData(projects, [r for r in self.participants if r["project_id"] in projects])


@dataclass
class ImportSummary:
    organisations_new: int = 0
    organisations_updated: int = 0
    projects: int = 0
    memberships_new: int = 0
    evidence_new: int = 0
    skipped: list[str] = field(default_factory=list)


def organisations_from(rows: Iterable[dict[str, str]], projects: dict[str, dict[str, str]]
                       ) -> dict[str, Organisation]:
    """One organisation per PIC: attributes of its latest participation, its most frequent activity type."""
    by_pic: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_pic[r["organisation_id"]].append(r)
    out = {}
    for pic, rs in by_pic.items():
        rs = sorted(rs, key=lambda r: projects.get(r["project_id"], {}).get("start_date", ""))
        last = rs[-1]
        sme = any(r.get("sme", "").lower() == "true" for r in rs)
        activity = Counter(r["activity_type"] for r in rs).most_common(1)[0][0]
        out[pic] = Organisation(
            name=last["name"].strip()[:300], kind=org_kind(last["name"], activity, sme), external_id=f"pic:{pic}",
            sme=sme, country=last.get("country", "").strip().upper()[:8], nuts=last.get("nuts_code", "")[:16],
            city=last.get("city", "").strip()[:200], website=last.get("website", "").strip()[:500], source="cordis")
    return out


ROWS_PER_TRANSACTION = 20_000


def import_cordis(store: Store, data: CordisData, tick: Tick | None = None,
                  batch: int = ROWS_PER_TRANSACTION) -> ImportSummary:
    """Import organisations, projects, then memberships and project evidence, up to ``batch`` rows
    per transaction (a folder of fewer projects and participations is one transaction).

    Batches bound the memory of a large import (the evidence of one batch at a time). A failed
    import keeps the batches committed before it; importing the folder again completes it, as an
    import adds only what is missing. Rows are stored in the files' order whatever the batch size.
    """
    summary = ImportSummary()
    orgs = organisations_from(data.participants, data.projects)
    with store.transaction() as conn:
        org_ids = _import_organisations(store, conn, list(orgs.values()), summary)
    project_rows = list(data.projects.values())
    pid_of: dict[str, int] = {}
    for lo in range(0, len(project_rows), batch):
        rows = project_rows[lo:lo + batch]
        with store.transaction() as conn:
            ids = store.upsert_projects(conn, [_project(p) for p in rows])
        pid_of.update((p["project_id"], i) for p, i in zip(rows, ids))
    summary.projects = len(project_rows)
    for lo in range(0, len(data.participants), batch):
        rows = data.participants[lo:lo + batch]
        texts: dict[str, str] = {}  # one string per project, shared by its members
        members, evidence = [], []
        for r in rows:
            oid, pid = org_ids.get(f"pic:{r['organisation_id']}"), pid_of.get(r["project_id"])
            if oid is None or pid is None:
                continue
            p = data.projects[r["project_id"]]
            text = texts.setdefault(r["project_id"], project_text(p["title"], p["objective"]))
            members.append((pid, oid, r["role"]))
            evidence.append((oid, pid, _title(p), text, _date(p["start_date"])))
        with store.transaction() as conn:
            summary.memberships_new += store.add_memberships(conn, _unique(members))
            summary.evidence_new += store.add_project_evidence(conn, _unique(evidence))
        if tick:
            tick(len(rows))
    return summary


def _import_organisations(store: Store, conn: Connection, orgs: list[Organisation], summary: ImportSummary
                          ) -> dict[str | None, int | None]:
    """Insert new organisations, update changed ones; returns ids by external id."""
    existing = store.organisations_by_external_id(conn, [o.external_id or "" for o in orgs])
    changed = []
    for org in orgs:
        old = existing.get(org.external_id or "")
        if old is None:
            changed.append(org)
            summary.organisations_new += 1
        elif _cordis_fields(old) != _cordis_fields(org):
            org.id = old.id
            for keep in ("description", "offers", "seeks", "capabilities", "contact", "notes", "visibility"):
                setattr(org, keep, getattr(old, keep))  # a cluster's own profile text is never overwritten
            changed.append(org)
            summary.organisations_updated += 1
    store.upsert_organisations(changed, conn)
    return {**{k: v.id for k, v in existing.items()}, **{o.external_id: o.id for o in changed}}


def _cordis_fields(o: Organisation) -> tuple[object, ...]:
    return (o.name, o.kind, o.sme, o.country, o.nuts, o.city, o.website)


def _title(p: dict[str, str]) -> str:
    acronym = p.get("acronym", "").strip()
    return f"{acronym}: {p['title'].strip()}" if acronym else p["title"].strip()


def _project(p: dict[str, str]) -> Project:
    return Project(title=p["title"].strip(), objective=p.get("objective", "").strip(),
                   acronym=p.get("acronym", "").strip()[:200], external_id=f"cordis:{p['project_id']}",
                   start_date=_date(p.get("start_date", "")), end_date=_date(p.get("end_date", "")),
                   funding_scheme=p.get("funding_scheme", "")[:100], source="cordis")


def _unique(rows: list[tuple]) -> list[tuple]:  # type: ignore[type-arg]
    """First row per (first two fields): an organisation listed twice in a project counts once."""
    seen: dict[tuple[object, object], tuple] = {}  # type: ignore[type-arg]
    for r in rows:
        seen.setdefault((r[0], r[1]), r)
    return list(seen.values())
