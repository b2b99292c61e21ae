"""Shared fixtures: real data from ../shared/data, real databases, the real packaged models.

PostgreSQL tests run against ``MATCHER_TEST_POSTGRES_URL`` (``.ci/run`` starts a
throwaway server). Locally they skip with a reason when it is not set; with
``CI=true`` a missing server is a failure, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from matcher.engine import Matcher
from matcher.ingest.cordis import CordisData, import_cordis
from matcher.retrieval.embed import Encoder, load_encoder
from matcher.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
# MATCHER_SHARED_DATA: the shared data folder when the checkout is not beside it (a git worktree elsewhere)
SHARED = Path(os.environ.get("MATCHER_SHARED_DATA") or ROOT.parent / "shared" / "data")
HEALTH = SHARED / "cordis_health"
TEST_MODEL = os.environ.get("MATCHER_TEST_MODEL", "use-m3")  # fast and multilingual; others tested explicitly
PG_URL = os.environ.get("MATCHER_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_shared() -> None:
    if not HEALTH.exists():
        if IN_CI:
            pytest.fail(f"{HEALTH} is missing: CI must run with ../shared beside the repo")
        pytest.skip(f"{HEALTH} is missing (the shared data folder is not beside the repo)")


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        if not PG_URL:
            if IN_CI:
                pytest.fail("CI=true but MATCHER_TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL")
            pytest.skip("no PostgreSQL server: set MATCHER_TEST_POSTGRES_URL (scripts/pg-throwaway.sh starts one)")
        _reset_postgres(PG_URL)
        s = Store(PG_URL)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'test.db'}")
    yield s
    s.close()


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return load_encoder(TEST_MODEL)


@pytest.fixture(scope="session")
def health() -> CordisData:
    need_shared()
    return CordisData.read(HEALTH)


@pytest.fixture(scope="session")
def small_cordis(health: CordisData) -> CordisData:
    """Real collaborative health projects that started in the first five months of 2022 (a few dozen)."""
    return health.subset(lambda p: "2022-01-01" <= p["start_date"] < "2022-06-01" and int(p["n_partners"] or 0) >= 3)


@pytest.fixture
def small_matcher(store: Store, small_cordis: CordisData, encoder: Encoder, tmp_path: Path) -> Matcher:
    """A synced matcher over ``small_cordis`` in ``store`` (SQLite and PostgreSQL)."""
    import_cordis(store, small_cordis)
    m = Matcher(store, encoder, tmp_path / "index")
    m.sync()
    return m


def open_demo(folder: Path, ranked: bool = False) -> Matcher:
    """The demo as `matcher demo` loads it (real organisations, shipped vectors, the 12 challenges), synced,
    in a fresh SQLite store under ``folder``; with ``ranked``, the shipped ranker as the service uses it."""
    from matcher.config import DEFAULT_MODEL
    from matcher.demo import load_demo
    from matcher.ranking.rank import load_default

    store = Store(f"sqlite:///{folder / 'demo.db'}")
    encoder = load_encoder(DEFAULT_MODEL)
    load_demo(store, encoder=encoder)
    m = Matcher(store, encoder, folder / "index", ranker=load_default("auto", encoder.model_id) if ranked else None)
    m.sync()
    return m
