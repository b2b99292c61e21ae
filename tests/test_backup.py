"""``matcher backup`` and ``matcher restore`` on real stores (SQLite, and PostgreSQL with pg_dump/pg_restore):
the round trip through the command line, a backup under concurrent writes, bad files refused with the live
database untouched, an older schema migrated, and hosts that never serve the history a restore replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from matcher.cli import app
from matcher.config import get_settings
from matcher.domain import Organisation, Query
from matcher.engine import Matcher
from matcher.errors import MatcherError
from matcher.ingest.cordis import CordisData
from matcher.retrieval.embed import Encoder
from matcher.storage.backup import backup, checked, restore
from matcher.storage.pg_tools import libpq, pg_tool
from matcher.storage.store import MIGRATIONS, Store, head_revision, make_engine, sqlite_path
from tests.conftest import TEST_MODEL
from tests.test_cli import cli_env, run, write_cordis  # noqa: F401  (cli_env is a fixture)

CARDIO = ("Cardio Wearables BV", "A patch that records the ECG for two weeks and detects atrial fibrillation.")
FALLS = ("Slimme Zorg BV", "Sensoren en software voor valpreventie bij ouderen thuis.")
OLDER = "0006"  # a schema revision before the embedding claims (0007) and the change notifications (0008)


def _members(folder: Path, *orgs: tuple[str, str]) -> Path:
    path = folder / f"members-{len(list(folder.glob('members-*')))}.csv"
    path.write_text("name,kind,country,description\n" + "".join(f'"{n}",startup,NL,"{d}"\n' for n, d in orgs),
                    encoding="utf-8")
    return path


def _found(text: str) -> list[tuple[int, str, float]]:
    code, out, _ = run("search", text, "-k", "10", "--json")
    assert code == 0
    return [(s["organisation"]["id"], s["organisation"]["name"], round(s["score"], 4)) for s in json.loads(out)["data"]]


def _state(url: str) -> tuple[int, int, str]:
    """(organisations, change number, database uuid): what a refused restore must leave as it was."""
    store = Store(url)
    try:
        return store.count_organisations(), store.change_no(), store.db_uuid
    finally:
        store.close()


def _downgrade(url: str, revision: str) -> None:
    """Take the database back to an older schema with its own migrations (as an older matcher left it)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


@pytest.fixture
def on_store(store: Store, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # noqa: F811
    """The command line on ``store`` (SQLite, and PostgreSQL when a server is given); yields a scratch folder."""
    monkeypatch.setenv("MATCHER_DATABASE_URL", store.url)
    get_settings.cache_clear()
    yield cli_env
    get_settings.cache_clear()


def test_round_trip_restores_the_data_and_the_search(on_store: Path, store: Store,
                                                     small_cordis: CordisData) -> None:
    code, _, _ = run("import", "cordis", str(write_cordis(small_cordis, on_store / "cordis")))
    assert code == 0
    before = _found("atrial fibrillation ECG patch")
    orgs = store.count_organisations()
    dump = on_store / "matcher.backup"
    code, out, _ = run("backup", str(dump), "--json")
    taken = json.loads(out)
    kind = store.engine.dialect.name
    assert code == 0 and taken == {"backup": str(dump), "bytes": dump.stat().st_size, "change": store.change_no(),
                                   "store": "sqlite" if kind == "sqlite" else "postgresql"}

    run("import", "csv", str(_members(on_store, CARDIO)))
    assert _found("atrial fibrillation ECG patch")[0][1] == CARDIO[0]  # served, and saved in the index folder
    seen = store.change_no()
    code, out, err = run("restore", str(dump), "--yes", "--json")
    assert code == 0 and "restart every matcher host" in err
    assert json.loads(out) == {"restored": str(dump), "store": taken["store"], "change": taken["change"],
                               "schema": head_revision(), "schema_in_file": head_revision()}
    assert store.count_organisations() == orgs and store.change_no() == taken["change"]

    # a write before any host started again repeats the change numbers that the index folder saw with the
    # organisation the restore removed: the folder is rebuilt (the restored database has a new uuid), never
    # loaded as if it were up to date
    run("import", "csv", str(_members(on_store, FALLS)))
    assert store.change_no() == seen
    assert _found("valpreventie bij ouderen")[0][1] == FALLS[0]
    assert CARDIO[0] not in [name for _i, name, _s in _found("atrial fibrillation ECG patch")]

    code, _, _ = run("restore", str(dump), "--yes")
    assert code == 0 and store.count_organisations() == orgs
    assert sorted(_found("atrial fibrillation ECG patch")) == sorted(before)  # the same data, the same answers


def test_restore_asks_before_it_replaces_anything(cli_env: Path) -> None:  # noqa: F811
    run("import", "csv", str(_members(cli_env, FALLS)))
    dump = cli_env / "matcher.backup"
    run("backup", str(dump))
    run("import", "csv", str(_members(cli_env, CARDIO)))
    url = get_settings().db_url
    kept = _state(url)
    res = CliRunner().invoke(app, ["restore", str(dump)], input="n\n")
    assert res.exit_code == 1 and "Replace all data in" in res.stdout and _state(url) == kept
    res = CliRunner().invoke(app, ["restore", str(dump)], input="y\n")
    assert res.exit_code == 0 and _state(url)[0] == kept[0] - 1


def test_a_backup_taken_while_another_connection_writes_is_consistent(cli_env: Path, small_cordis: CordisData  # noqa: F811
                                                                       ) -> None:
    run("import", "cordis", str(write_cordis(small_cordis, cli_env / "cordis")))  # a real catalogue to copy
    writer = Store(get_settings().db_url)
    first = writer.count_organisations()
    committed: list[str] = []  # names, in commit order
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            name = f"Writer {len(committed)} BV"
            writer.upsert_organisations([Organisation(name=name, kind="sme", country="NL",
                                                      description=f"{name} makes sensors number {len(committed)}.")])
            committed.append(name)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while len(committed) < 5:
            threading.Event().wait(0.01)
        before = len(committed)
        code, out, _ = run("backup", str(cli_env / "busy.backup"), "--json")
        after = len(committed)
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert code == 0 and after > before  # the writer went on while the copy was taken
    with closing(sqlite3.connect(f"file:{cli_env / 'busy.backup'}?mode=ro", uri=True)) as copy:
        assert copy.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        names = [r[0] for r in copy.execute("SELECT name FROM organisations ORDER BY id")][first:]
        change = copy.execute("SELECT max(id) FROM changes").fetchone()[0]
        bare = copy.execute("SELECT count(*) FROM organisations o WHERE NOT EXISTS "
                            "(SELECT 1 FROM evidence e WHERE e.organisation_id = o.id)").fetchone()[0]
    assert before <= len(names) <= after and names == committed[:len(names)]  # one moment of the history
    assert json.loads(out)["change"] == change and bare == 0  # each organisation with its evidence


def _not_sqlite(folder: Path) -> Path:
    (folder / "notes.txt").write_text("name,kind\nIsala,hospital\n" * 50, encoding="utf-8")
    return folder / "notes.txt"


def _damaged(folder: Path, cut: bool) -> Path:
    data = bytearray((folder / "good.backup").read_bytes())
    if cut:
        data = data[:len(data) // 2]
    else:
        data[4096 * 3:4096 * 3 + 2000] = bytes(b ^ 0x5A for b in data[4096 * 3:4096 * 3 + 2000])
    (folder / "damaged.backup").write_bytes(data)
    return folder / "damaged.backup"


def _other_sqlite(folder: Path) -> Path:
    with closing(sqlite3.connect(folder / "other.db")) as db:
        db.execute("CREATE TABLE notes (line TEXT)")
        db.commit()
    return folder / "other.db"


def _newer(folder: Path) -> Path:
    path = folder / "newer.backup"
    path.write_bytes((folder / "good.backup").read_bytes())
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE alembic_version SET version_num = '0042'")
        db.commit()
    return path


def _pg_dump_file(folder: Path) -> Path:
    (folder / "pg.dump").write_bytes(b"PGDMP\x01\x0f\x00" + bytes(200))
    return folder / "pg.dump"


@pytest.mark.parametrize(("make", "message"), [
    (lambda f: f / "missing.backup", "missing.backup does not exist"),
    (_not_sqlite, "notes.txt is not a matcher backup: expected a SQLite database"),
    (lambda f: _damaged(f, cut=True), "damaged.backup is not a readable SQLite database"),
    (lambda f: _damaged(f, cut=False), "damaged.backup is not a readable SQLite database"),
    (_other_sqlite, "other.db is not a matcher database"),
    (_newer, "has schema 0042, newer than this matcher knows"),
    (_pg_dump_file, "pg.dump is a PostgreSQL dump (pg_dump -Fc), but the store is sqlite"),
])
def test_a_bad_file_is_one_line_and_the_live_database_is_untouched(cli_env: Path, make, message: str  # noqa: F811
                                                                   ) -> None:
    run("import", "csv", str(_members(cli_env, FALLS, CARDIO)))
    run("backup", str(cli_env / "good.backup"))
    url = get_settings().db_url
    kept = _state(url), _content(url)
    res = subprocess.run([sys.executable, "-m", "matcher", "restore", str(make(cli_env)), "--yes"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "MATCHER_HOME": str(cli_env / "home"), "MATCHER_MODEL": TEST_MODEL,
                              "COLUMNS": "300"})
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1 and message in res.stderr, res.stderr
    assert (_state(url), _content(url)) == kept


def _content(url: str) -> str:
    """A digest of every row of the SQLite database at ``url``."""
    with closing(sqlite3.connect(url.split("///", 1)[1])) as db:
        return hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()


def test_backup_never_overwrites_a_file_unless_forced(cli_env: Path) -> None:  # noqa: F811
    run("import", "csv", str(_members(cli_env, FALLS)))
    dump = cli_env / "matcher.backup"
    dump.write_text("last week's backup", encoding="utf-8")
    res = CliRunner().invoke(app, ["backup", str(dump)])
    assert isinstance(res.exception, MatcherError) and "exists: give another name, or --force" in str(res.exception)
    assert dump.read_text(encoding="utf-8") == "last week's backup"
    code, out, _ = run("backup", str(dump), "--force", "--json")
    assert code == 0 and json.loads(out)["bytes"] == dump.stat().st_size and dump.read_bytes().startswith(b"SQLite")
    assert [p.name for p in cli_env.iterdir() if p.name.startswith(".")] == []  # no partial file left behind


def test_a_backup_of_an_older_schema_is_migrated_as_a_start_would(on_store: Path, store: Store) -> None:
    run("import", "csv", str(_members(on_store, FALLS, CARDIO)))
    _downgrade(store.url, OLDER)
    dump = on_store / "older.backup"
    run("backup", str(dump))
    Store(store.url).close()  # the live database back at the newest schema, as the next start leaves it
    run("import", "csv", str(_members(on_store, ("Isala", "Teaching hospital in Zwolle."))))
    code, out, _ = run("restore", str(dump), "--yes", "--json")
    assert code == 0 and json.loads(out)["schema_in_file"] == OLDER and json.loads(out)["schema"] == head_revision()
    assert store.count_organisations() == 2
    assert _found("valpreventie bij ouderen")[0][1] == FALLS[0]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)  # SQLite's bad files: the test above
def test_a_damaged_dump_leaves_postgresql_untouched(on_store: Path, store: Store) -> None:
    run("import", "csv", str(_members(on_store, FALLS)))
    good = on_store / "good.dump"
    run("backup", str(good))
    run("import", "csv", str(_members(on_store, CARDIO)))
    kept = _state(store.url)
    data = good.read_bytes()
    for name, body in (("cut.dump", data[:-len(data) // 10]),  # the data of the last tables is missing
                       ("notes.dump", b"name,kind\nIsala,hospital\n"), ("sqlite.dump", b"SQLite format 3\x00" * 9)):
        (on_store / name).write_bytes(body)
        res = CliRunner().invoke(app, ["restore", str(on_store / name), "--yes"])
        assert isinstance(res.exception, MatcherError), (name, res.output)
        assert _state(store.url) == kept, name


def _assert_index_is_the_store(m: Matcher) -> None:
    """The matcher's snapshot holds exactly the stored texts, each with its stored vector."""
    snap = m.upkeep.current()
    ids, vecs = m.store.text_vectors(m.encoder.model_id)
    got_ids, got_vecs = snap.vectors.contents()
    order = np.argsort(got_ids)
    assert got_ids[order].tolist() == ids.tolist() and np.allclose(got_vecs[order], vecs.reshape(len(ids), -1))
    assert sorted(snap.lexical.ids_.tolist()) == ids.tolist()


def _restore_by_hand(url: str, source: Path) -> None:
    """A restore as this page's former commands did it (SQLite's backup API; pg_restore --clean --if-exists):
    the data of ``source``, the database uuid of ``source`` too."""
    live = sqlite_path(url)
    if live is not None:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(live)) as dest:
            src.backup(dest)
        return
    dsn, env = libpq(url)
    subprocess.run([pg_tool("pg_restore"), "--clean", "--if-exists", "-d", dsn, str(source)], env=env, check=True)


def test_a_running_host_notices_a_restore_at_its_next_query(store: Store, encoder: Encoder, tmp_path: Path) -> None:
    def org(name: str, description: str) -> Organisation:
        return Organisation(name=name, kind="startup", country="NL", description=description)

    def names(text: str) -> list[str]:
        return [s.organisation.name for s in m.search(Query(text=text, k=5))]

    store.upsert_organisations([org("Twente Microfluidics BV", "Organ-on-chip platforms for drug screening."),
                                org("Nijmegen Imaging Lab", "MRI reconstruction with deep learning.")])
    m = Matcher(Store(store.url), encoder, tmp_path / "index")  # a host with its own connections
    m.sync()
    taken = backup(store.url, tmp_path / "matcher.backup")
    store.upsert_organisations([org(*CARDIO)])
    assert names("ECG atrial fibrillation")[0] == CARDIO[0]

    _restore_by_hand(store.url, taken.path)  # the same uuid, a lower change number than the host's
    assert store.change_no() == taken.change < m.snapshot_.change_no  # type: ignore[union-attr]
    assert CARDIO[0] not in names("ECG atrial fibrillation")
    _assert_index_is_the_store(m)

    store.upsert_organisations([org(*CARDIO)])
    assert names("ECG atrial fibrillation")[0] == CARDIO[0]
    with checked(store.url, taken.path) as plan:
        restore(plan)  # a new uuid; then writes take the change number past the host's, in another history
    store.upsert_organisations([org(*FALLS), org("Isala", "Teaching hospital in Zwolle.")])
    assert store.change_no() > m.snapshot_.change_no  # type: ignore[union-attr]
    assert names("valpreventie bij ouderen")[0] == FALLS[0]
    assert CARDIO[0] not in names("ECG atrial fibrillation")
    _assert_index_is_the_store(m)
    m.store.close()


def test_a_missing_postgresql_program_is_named() -> None:
    with pytest.raises(MatcherError, match="pg_no_such_program not found: install the PostgreSQL client programs"):
        pg_tool("pg_no_such_program")
