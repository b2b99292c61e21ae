"""A backup of the whole store in one file, and its restore.

SQLite: the file is a SQLite database, copied with SQLite's online backup API (one consistent copy while
other connections read and write). PostgreSQL: the file is a ``pg_dump -Fc`` archive, dumped in the same
snapshot in which the change number is read.

A restore checks the file before the live database is touched (a matcher database of a schema this code
knows, readable to the end), brings an older schema up to date as a start would, gives the database a new
uuid, and replaces the live data in one transaction. The new uuid matters: the restored change numbers
may repeat numbers that the hosts' index folders followed in the history the restore replaced, so every
folder must be rebuilt from the restored vectors, never caught up (:mod:`matcher.retrieval.upkeep`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from matcher.errors import InvalidInput, MatcherError, NotFound
from matcher.storage import schema
from matcher.storage.pg_tools import last_line, libpq, pg_tool, run
from matcher.storage.store import (
    Store,
    head_revision,
    make_engine,
    read_change_no,
    revisions,
    schema_revision,
    sqlite_path,
)

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first bytes of every SQLite database
PG_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive


@dataclass(frozen=True)
class Backup:
    """A backup file: where, how large, of which kind of store, at which database change number."""

    path: Path
    size: int  # bytes
    store: str  # "sqlite" or "postgresql"
    change: int


@dataclass(frozen=True)
class Restored:
    """A finished restore: the database's change number and schema now, and the schema the file had."""

    store: str
    change: int
    schema: str
    schema_in_file: str


@dataclass(frozen=True)
class RestorePlan:
    """A backup file that passed the checks for a restore into the store at ``url`` (see :func:`checked`)."""

    url: str
    source: Path
    store: str
    schema: str  # the file's schema revision
    staged: Path | None  # SQLite: the file's checked copy, which is migrated and then copied into the live one

    @property
    def target(self) -> str:
        """The live database, as a person reads it (a path, or the URL without its password)."""
        path = sqlite_path(self.url)
        return str(path) if path else make_url(self.url).render_as_string(hide_password=True)


def store_kind(url: str) -> str:
    """``sqlite`` or ``postgresql``, from the database URL."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


# ---- backup -------------------------------------------------------------------------------------------------

def backup(url: str, dest: Path) -> Backup:
    """Copy the whole database at ``url`` into the file ``dest`` (replaced atomically when it exists).

    Safe while the service runs: SQLite copies one consistent state with its backup API; PostgreSQL's
    ``pg_dump`` reads one snapshot, the same one in which the change number is read.
    """
    if not dest.parent.is_dir():
        raise NotFound(f"folder {dest.parent} does not exist")
    kind = store_kind(url)
    tmp = dest.with_name(f".{dest.name}.partial")
    try:
        change = _backup_sqlite(_live_sqlite(url), tmp) if kind == "sqlite" else _backup_postgres(url, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return Backup(dest, dest.stat().st_size, kind, change)


def _live_sqlite(url: str) -> Path:
    path = sqlite_path(url)
    if path is None or not path.is_file():
        raise NotFound(f"no database at {path or url}")
    return path


def _backup_sqlite(live: Path, out: Path) -> int:
    _sqlite_copy(live, out)
    with closing(sqlite3.connect(out)) as copy:
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, readable without a -wal beside it
    engine = create_engine(f"sqlite:///{out}")
    try:
        with engine.connect() as conn:
            return read_change_no(conn)
    finally:
        engine.dispose()


def _sqlite_copy(src: Path, dest: Path) -> None:
    """Copy the database ``src`` into ``dest`` page by page in one step: a consistent state of ``src`` (other
    connections may write meanwhile), written into ``dest`` in one transaction (its readers see the old or
    the new database, never a mixture)."""
    with closing(sqlite3.connect(src, timeout=30)) as a, closing(sqlite3.connect(dest, timeout=30)) as b:
        a.backup(b)


def _backup_postgres(url: str, out: Path) -> int:
    program, (dsn, env) = pg_tool("pg_dump"), libpq(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():  # pg_dump reads the snapshot of this transaction, which stays open meanwhile
                snapshot = conn.execute(sql_text("SELECT pg_export_snapshot()")).scalar_one()
                change = read_change_no(conn)
                run([program, "-Fc", f"--snapshot={snapshot}", "-f", str(out), "-d", dsn], env)
    finally:
        engine.dispose()
    return change


# ---- restore ------------------------------------------------------------------------------------------------

@contextmanager
def checked(url: str, source: Path) -> Iterator[RestorePlan]:
    """Check that ``source`` can be restored into the store at ``url``, without touching that store.

    Refused with a one-line :class:`InvalidInput`: a file that is not a backup of this kind of store, a
    database that is not matcher's, a corrupt one, or one of a schema newer than this code knows.

    Yields:
        the plan for :func:`restore` (valid inside the ``with`` block: a SQLite file's checked copy lives there).
    """
    if not source.is_file():
        raise NotFound(f"{source} does not exist")
    kind = store_kind(url)
    _check_magic(source, kind)
    if kind == "postgresql":
        pg_tool("psql")  # restore() needs it too: when it is missing, say so before anything changes
        yield RestorePlan(url, source, kind, _known_schema(source, _dump_schema(source)), None)
        return
    live = sqlite_path(url)
    if live is None:
        raise InvalidInput("restore needs a SQLite file or a PostgreSQL database, not SQLite in memory")
    live.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".matcher-restore-", dir=live.parent) as tmp:
        staged = Path(tmp) / "restore.db"
        yield RestorePlan(url, source, kind, _stage_sqlite(source, staged), staged)


def restore(plan: RestorePlan) -> Restored:
    """Replace all data of the live store with the checked backup, then tell what it holds now."""
    if plan.staged is not None:  # migrate and renew the copy first, so the live database changes in one step
        change, now = _finish(f"sqlite:///{plan.staged}")
        _sqlite_copy(plan.staged, sqlite_path(plan.url))  # type: ignore[arg-type]
    else:
        _restore_postgres(plan.url, plan.source)
        change, now = _finish(plan.url)
    return Restored(plan.store, change, now, plan.schema)


def _finish(url: str) -> tuple[int, str]:
    """Bring a restored database to the newest schema, as a start would, and give it a new uuid."""
    store = Store(url)
    try:
        store.renew_uuid()
        return store.change_no(), str(schema_revision(store.engine))
    finally:
        store.close()


def _check_magic(source: Path, kind: str) -> None:
    with open(source, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC if kind == "sqlite" else PG_MAGIC):
        return
    other = {SQLITE_MAGIC: "a SQLite database", PG_MAGIC: "a PostgreSQL dump (pg_dump -Fc)"}
    what = next((name for magic, name in other.items() if head.startswith(magic)), None)
    if what:
        raise InvalidInput(f"{source} is {what}, but the store is {kind}: restore it into a {kind} store")
    expected = "a SQLite database" if kind == "sqlite" else "a pg_dump -Fc archive"
    raise InvalidInput(f"{source} is not a matcher backup: expected {expected}")


def _known_schema(source: Path, found: str | None) -> str:
    if found is None:
        raise InvalidInput(f"{source} is not a matcher database: it has no schema version")
    if found not in revisions():
        raise InvalidInput(f"{source} has schema {found}, newer than this matcher knows (up to {head_revision()}): "
                           "restore it with the matcher version that made it")
    return found


def _stage_sqlite(source: Path, staged: Path) -> str:
    """Copy ``source`` to ``staged`` and check the copy through: SQLite's own check of every page, then our
    schema version; the copy's revision."""
    try:
        _sqlite_copy(source, staged)
        engine = create_engine(f"sqlite:///{staged}")
        try:
            with engine.connect() as conn:
                problems = [r[0] for r in conn.execute(sql_text("PRAGMA quick_check")).all()]
            found = schema_revision(engine)
        finally:
            engine.dispose()
    except (sqlite3.DatabaseError, DBAPIError) as exc:  # SQLAlchemy wraps SQLite's own error in .orig
        raise InvalidInput(f"{source} is not a readable SQLite database: {getattr(exc, 'orig', exc)}") from exc
    if problems != ["ok"]:
        raise InvalidInput(f"{source} is corrupt: {problems[0]}")
    return _known_schema(source, found)


def _dump_schema(source: Path) -> str | None:
    """The schema revision in a pg_dump archive (the data of its ``alembic_version`` table), read without a
    database; None when the archive has no such table."""
    program = pg_tool("pg_restore")
    try:
        script = run([program, "--data-only", "--table=alembic_version", "-f", "-", str(source)])
    except MatcherError as exc:
        raise InvalidInput(f"{source} is not a readable pg_dump archive: {exc}") from exc
    lines = script.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines) and lines[i + 1] != "\\.":
            return lines[i + 1].strip()
    return None


def _restore_postgres(url: str, source: Path) -> None:
    """``pg_restore --clean --if-exists`` into the live database, in one transaction through ``psql``, after
    dropping everything our migrations create: a backup of an older schema lacks what was added since, and
    what is left behind would stop its migration (tests/test_backup.py restores a backup of an older schema).
    Any error (a corrupt archive included) rolls it all back."""
    drop = "".join(f'DROP TABLE IF EXISTS "{name}" CASCADE;\n' for name in
                   ["alembic_version", *(t.name for t in reversed(schema.metadata.sorted_tables))])
    drop += "DROP FUNCTION IF EXISTS matcher_notify_changes() CASCADE;\n"  # migration 0008's trigger function
    (dsn, env), programs = libpq(url), (pg_tool("pg_restore"), pg_tool("psql"))
    with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as psql_err:
        dump = subprocess.Popen([programs[0], "--clean", "--if-exists", "--no-owner", "-f", "-", str(source)],
                                stdout=subprocess.PIPE, stderr=dump_err)
        psql = subprocess.Popen([programs[1], "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err, env=env)
        assert dump.stdout is not None and psql.stdin is not None
        try:
            psql.stdin.write(f"BEGIN;\n{drop}".encode())
            shutil.copyfileobj(dump.stdout, psql.stdin)
            if dump.wait() == 0:  # the archive was read to its end: only then is the transaction committed
                psql.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:  # psql stopped at an error and rolled back
            pass
        finally:
            dump.kill()  # when psql stopped early, nothing reads what pg_restore writes
            with suppress(BrokenPipeError):
                psql.stdin.close()  # psql ends here; without a COMMIT its transaction is rolled back
        for program, err in ((psql, psql_err), (dump, dump_err)):
            if program.wait() != 0:
                err.seek(0)
                raise MatcherError("restore failed, the database is unchanged: "
                                   f"{last_line(err.read(), program.returncode)}")
