"""The demo data set: real East-Netherlands organisations (CORDIS) and sample challenges."""

from __future__ import annotations

import json
from pathlib import Path

from matcher.domain import Challenge
from matcher.errors import Conflict, NotFound
from matcher.ingest.cordis import CordisData, ImportSummary, Tick, import_cordis
from matcher.store import Store

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"


def load_challenges(store: Store, path: Path) -> list[int]:
    """Store the challenges of a demo ``challenges.json`` (keyed ``demo:<key>``); returns their ids."""
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    ids = []
    for item in items:
        poser = store.find_organisation(f"pic:{item['posed_by']}") if item.get("posed_by") else None
        ids.append(store.save_challenge(Challenge(
            title=item["title"], description=item["description"], external_id=f"demo:{item['key']}",
            posed_by=poser.id if poser else None, wanted_kinds=list(item.get("wanted_kinds", [])),
            region=item.get("region", ""), instrument=item.get("instrument", ""),
            confidentiality=item.get("confidentiality", "public"))))
    return ids


def load_demo(store: Store, folder: Path = DEMO_DIR, tick: Tick | None = None,
              force: bool = False) -> tuple[ImportSummary, list[int]]:
    """Load the demo into ``store``; refuses a database that already holds other data unless ``force``."""
    if not (folder / "projects.csv.gz").exists():
        raise NotFound(f"no demo data in {folder}")
    loaded = any((c.external_id or "").startswith("demo:") for c in store.list_challenges())
    if not force and not loaded and store.count_organisations():
        raise Conflict("the database already holds data; the demo loads into an empty database "
                           "(use --force to add it anyway)")
    summary = import_cordis(store, CordisData.read(folder), tick)
    return summary, load_challenges(store, folder / "challenges.json")
