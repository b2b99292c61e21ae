"""The change number of a SQLite file: read again after every commit, from any connection, and only then."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from matcher.domain import Organisation
from matcher.storage.store import Store
from matcher.storage.watch import CHANGE_NO


def _org(name: str = "Lab") -> Organisation:
    return Organisation(name=name, kind="university", country="NL")


def _reads(store: Store) -> list[str]:
    """The statements the watch's own connection runs from now on (SQLite's trace of that connection)."""
    seen: list[str] = []
    assert store._watch is not None
    store.change_no()  # opened
    assert store._watch._conn is not None
    store._watch._conn.set_trace_callback(seen.append)
    return seen


def test_the_table_is_read_only_after_a_commit(sqlite_store: Store) -> None:
    seen = _reads(sqlite_store)
    n0 = sqlite_store.change_no()
    assert [sqlite_store.change_no() for _ in range(5)] == [n0] * 5
    assert CHANGE_NO not in seen  # nothing was committed: the version alone was asked
    sqlite_store.upsert_organisations([_org()])  # a commit through the store's own engine, in this process
    n1 = sqlite_store.change_no()
    assert n1 > n0 and seen.count(CHANGE_NO) == 1
    sqlite_store.change_no()
    assert seen.count(CHANGE_NO) == 1


def test_a_commit_by_another_process_is_seen_at_once(sqlite_store: Store, tmp_path: Path) -> None:
    n0 = sqlite_store.change_no()
    code = ("import sys; from matcher.storage.store import Store; from matcher.domain import Organisation; "
            "Store(sys.argv[1]).upsert_organisations([Organisation(name='Clinic', kind='hospital')])")
    subprocess.run([sys.executable, "-c", code, sqlite_store.url], check=True, cwd=Path(__file__).parents[1])
    assert sqlite_store.change_no() > n0
    assert {o.name for o in sqlite_store.list_organisations()[0]} >= {"Clinic"}


def test_a_file_replaced_under_the_same_name_is_read_anew(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    store = Store(f"sqlite:///{path}")
    store.upsert_organisations([_org("A"), _org("B")])
    busy = store.change_no()
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")  # a database with fewer changes
    quiet = other.change_no()
    other.close()
    assert quiet < busy
    shutil.copy(tmp_path / "other.db", tmp_path / "copy.db")
    (tmp_path / "copy.db").replace(path)  # a new inode; the store's engine opens connections to it anew
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    assert store.change_no() == quiet
    store.close()


def test_a_missing_file_is_an_error_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    store = Store(f"sqlite:///{path}")
    store.change_no()
    store.engine.dispose()
    path.unlink()
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    try:
        store.change_no()
    except Exception as exc:  # noqa: BLE001 - the engine's own error: SQLite created an empty file, no table
        assert "changes" in str(exc)
    else:
        raise AssertionError("a database without its tables gave a change number")
