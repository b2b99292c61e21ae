"""A real app over a real SQLite store with real CORDIS organisations, and a key for every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from matcher.config import Settings
from matcher.domain import Challenge, Organisation
from matcher.ingest.cordis import CordisData, import_cordis
from matcher.storage.keys import create_key
from matcher.storage.store import Store
from tests.conftest import TEST_MODEL


@dataclass
class World:
    client: TestClient
    store: Store
    keys: dict[str, str]  # admin, staff, viewer, member_a, member_b
    org_a: int
    org_b: int
    hidden_org: int
    challenges: dict[str, int]  # by confidentiality, all posed by org_a

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def make_world(tmp: Path, data: CordisData, **settings: object) -> Iterator[World]:
    s = Settings(home=tmp, model=TEST_MODEL, database_url=f"sqlite:///{tmp / 'api.db'}", **settings)  # type: ignore[arg-type]
    store = Store(s.db_url)
    import_cordis(store, data)
    a, b, hidden = store.upsert_organisations([
        Organisation("Oost Ziekenhuis", kind="hospital", country="NL", nuts="NL213",
                     description="Teaching hospital running pilots of home monitoring for heart failure patients.",
                     contact="secret-contact@oost.example", notes="staff note: board changes in 2025"),
        Organisation("Twente Sensors BV", kind="startup", country="NL", nuts="NL213", sme=True,
                     description="Wearable ECG patch and remote monitoring platform for cardiology."),
        Organisation("Stealth Lab", kind="research_institute", country="NL", visibility="staff",
                     description="Confidential wearable ECG research for remote cardiology monitoring."),
    ])
    challenges = {c: store.save_challenge(Challenge(
        f"{c} challenge: remote monitoring of heart failure",
        f"Codeword-{c}: we want to monitor heart failure patients at home with wearables.",
        posed_by=a, confidentiality=c)) for c in ("public", "members", "staff", "owner")}
    keys = {"admin": create_key(store, "admin"), "staff": create_key(store, "staff"),
            "viewer": create_key(store, "viewer"), "member_a": create_key(store, "member", a),
            "member_b": create_key(store, "member", b)}
    with TestClient(create_app(s)) as client:
        yield World(client, store, keys, a, b, hidden, challenges)
    store.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, small_cordis: CordisData) -> Iterator[World]:
    yield from make_world(tmp_path_factory.mktemp("api"), small_cordis)
