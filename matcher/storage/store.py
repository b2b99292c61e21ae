"""The store: the system of record (SQLAlchemy 2; SQLite by default, PostgreSQL by URL).

Every write runs in one transaction, records what it touched in the ``changes``
log, and is committed before the method returns. Readers that keep derived
state (the vector index, the lexical index, the organisation table in memory)
compare :meth:`Store.change_no` with the number they were built at.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, create_engine, delete, event, func, insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from matcher.domain import Challenge, Organisation, Project
from matcher.errors import InvalidInput, NotFound
from matcher.messages import Message
from matcher.storage import schema as t
from matcher.storage.watch import ChangeWatch

_ORG_FIELDS = [f.name for f in fields(Organisation)]
_CHALLENGE_FIELDS = [f.name for f in fields(Challenge)]


def text_hash(text: str) -> str:
    """A stable key for a text: hex SHA-256 of its UTF-8 bytes (first 32 chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


MIGRATIONS = Path(__file__).parent / "migrations"


def revisions() -> dict[str, str | None]:
    """Every revision of our migration scripts and the one it follows, read from their ``revision`` and
    ``down_revision`` lines (without importing Alembic)."""
    found: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        lines = dict(re.findall(r'^(revision|down_revision)\s*(?::[^=]*)?=\s*"?([\w]+)"?', path.read_text(), re.M))
        if "revision" in lines:
            down = lines.get("down_revision")
            found[lines["revision"]] = None if down in (None, "None") else down
    return found


def head_revision() -> str | None:
    """The newest revision of our migration scripts; None unless there is exactly one head (then Alembic
    decides)."""
    known = revisions()
    heads = set(known) - {d for d in known.values() if d}
    return heads.pop() if len(heads) == 1 else None


def schema_revision(engine: Engine) -> str | None:
    """The database's schema revision (Alembic's version table, read with one query); None for a database
    without one (new, or not ours)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(sql_text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # a new database: no version table yet
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def at_head(engine: Engine) -> bool:
    """Whether the database is already at :func:`head_revision`."""
    head = head_revision()
    return head is not None and schema_revision(engine) == head


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest Alembic revision.

    A database already there is left alone without importing Alembic (a third of a second of a
    worker's start, with Mako and Pygments under it)."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a power cut
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or SQLite in memory.

    >>> sqlite_path("sqlite:////var/lib/matcher/matcher.db"), sqlite_path("postgresql://db/matcher")
    (PosixPath('/var/lib/matcher/matcher.db'), None)
    """
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created when missing."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True)


def read_change_no(conn: Connection) -> int:
    """The database change number seen by ``conn``'s transaction: the newest change id (0 when empty)."""
    return int(conn.execute(select(func.coalesce(func.max(t.changes.c.id), 0))).scalar_one())


def _log(conn: Connection, entity: str, ids: Iterable[int], op: str = "upsert") -> None:
    rows = [{"entity": entity, "entity_id": int(i), "op": op} for i in ids]
    if rows:
        conn.execute(insert(t.changes), rows)


def _org_values(org: Organisation) -> dict[str, Any]:
    """An organisation's columns as written, without its id and timestamps."""
    return {k: getattr(org, k) for k in _ORG_FIELDS if k not in ("id", "created_at", "updated_at")}


def _org_from_row(row: Any) -> Organisation:
    data = {k: row._mapping[k] for k in _ORG_FIELDS}
    data["capabilities"] = list(data["capabilities"] or [])
    return Organisation(**data)


def _challenge_from_row(row: Any) -> Challenge:
    data = {k: row._mapping[k] for k in _CHALLENGE_FIELDS}
    data["wanted_kinds"] = list(data["wanted_kinds"] or [])
    return Challenge(**data)


class Store:
    """Reads and writes the domain; see the module docstring for the change log."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        path = sqlite_path(url)
        self._watch = ChangeWatch(path) if path is not None else None
        with self.engine.begin() as conn:
            if conn.execute(select(t.meta.c.value).where(t.meta.c.key == "db_uuid")).first() is None:
                conn.execute(insert(t.meta), [{"key": "db_uuid", "value": uuid.uuid4().hex}])

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; committed when the block ends without an error."""
        with self.engine.begin() as conn:
            yield conn

    # ---- identity and change number -------------------------------------------------
    @property
    def db_uuid(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(select(t.meta.c.value).where(t.meta.c.key == "db_uuid")).scalar_one())

    def renew_uuid(self) -> str:
        """Give the database a new uuid, as a restore does: the restored change numbers may repeat numbers
        that saved indexes followed in the history it replaced, so none of them may be caught up from it."""
        value = uuid.uuid4().hex
        with self.transaction() as conn:
            conn.execute(update(t.meta).where(t.meta.c.key == "db_uuid").values(value=value))
        return value

    def change_no(self) -> int:
        """The newest change id (0 for an empty database); for a SQLite file read again only after a commit
        (:class:`~matcher.storage.watch.ChangeWatch`)."""
        if self._watch is not None:
            try:
                return self._watch.change_no()
            except (OSError, sqlite3.Error):  # the file is gone or unreadable: the engine's read says why
                pass
        with self.engine.connect() as conn:
            return read_change_no(conn)

    def changes_since(self, change_no: int) -> list[tuple[int, str, int, str]]:
        """(id, entity, entity_id, op) of every change after ``change_no``, oldest first."""
        q = select(t.changes).where(t.changes.c.id > change_no).order_by(t.changes.c.id)
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]

    # ---- organisations --------------------------------------------------------------
    def upsert_organisations(self, orgs: Sequence[Organisation], conn: Connection | None = None) -> list[int]:
        """Insert or update organisations (matched by ``id``, else ``external_id``); returns their ids.

        Description and offers evidence follow the profile in the same transaction.
        """
        if conn is None:
            with self.transaction() as c:
                return self.upsert_organisations(orgs, c)
        ext_ids = [o.external_id for o in orgs if o.external_id]
        known: dict[str, int] = {}
        for chunk in _chunks(ext_ids, 500):
            q = select(t.organisations.c.external_id, t.organisations.c.id).where(
                t.organisations.c.external_id.in_(chunk))
            known.update({e: i for e, i in conn.execute(q)})
        ids: list[int] = []
        plain: list[Organisation] = []  # new organisations without profile text, inserted together in order
        pending: set[str] = set()  # their external ids: a second row for one of them waits for the insert

        def flush() -> None:
            ids.extend(self._insert_plain(conn, plain, known))
            plain.clear()
            pending.clear()

        for o in orgs:
            if (o.external_id or "") in pending or len(plain) >= 5000:
                flush()
            if (o.id is None and (o.external_id or "") not in known
                    and not (o.description or o.offers or o.capabilities)):
                plain.append(o)
                if o.external_id:
                    pending.add(o.external_id)
                continue
            flush()
            ids.append(self._upsert_one(conn, o, known))
        flush()
        _log(conn, "organisation", ids)
        return ids

    def _insert_plain(self, conn: Connection, orgs: list[Organisation], known: dict[str, int]) -> list[int]:
        """Insert new organisations that have no profile evidence in one statement, in the given order
        (a bulk import: one row at a time cost about 15 minutes per million organisations)."""
        if not orgs:
            return []
        stamp = now()
        rows = [{**_org_values(o), "created_at": stamp, "updated_at": stamp} for o in orgs]
        q = insert(t.organisations).returning(t.organisations.c.id, sort_by_parameter_order=True)
        ids = [int(i) for i in conn.execute(q, rows).scalars()]
        for o, i in zip(orgs, ids):
            o.id = i
            if o.external_id:
                known[o.external_id] = i
        return ids

    def _upsert_one(self, conn: Connection, org: Organisation, known: dict[str, int]) -> int:
        stamp = now()
        values = {**_org_values(org), "updated_at": stamp}
        org_id = org.id if org.id is not None else known.get(org.external_id or "")
        existed = org_id is not None
        if org_id is not None:
            res = conn.execute(update(t.organisations).where(t.organisations.c.id == org_id).values(**values))
            if res.rowcount == 0:
                raise NotFound(Message("organisation {id} does not exist", id=org_id))
        else:
            org_id = int(conn.execute(insert(t.organisations).values(created_at=stamp, **values)
                                      ).inserted_primary_key[0])
        if org.external_id:
            known[org.external_id] = org_id
        org.id = org_id
        if existed or org.description or org.offers or org.capabilities:
            self._sync_profile_evidence(conn, org_id, org)
        return org_id

    def _sync_profile_evidence(self, conn: Connection, org_id: int, org: Organisation) -> None:
        profile = {"description": org.description, "offers": org.offers}
        if org.capabilities:
            profile["description"] = (org.description + "\nCapabilities: " + ", ".join(org.capabilities)).strip()
        for source, text in profile.items():
            self.set_evidence(conn, org_id, source, text.strip(), title=source.capitalize())

    def set_evidence(self, conn: Connection, org_id: int, source: str, text: str, title: str = "",
                     project_id: int | None = None, date: dt.date | None = None) -> None:
        """Create, replace or (for empty text) remove one evidence of an organisation."""
        cond = (t.evidence.c.organisation_id == org_id) & (t.evidence.c.source == source)
        cond &= t.evidence.c.project_id.is_(None) if project_id is None else t.evidence.c.project_id == project_id
        old = conn.execute(select(t.evidence.c.id, t.evidence.c.text_id).where(cond)).first()
        if not text:
            if old is not None:
                conn.execute(delete(t.evidence).where(t.evidence.c.id == old.id))
                _log(conn, "evidence", [old.id], "delete")
                self._drop_orphan_texts(conn, [old.text_id])
            return
        text_id = self.intern_texts(conn, [text])[0]
        if old is None:
            eid = conn.execute(insert(t.evidence).values(
                organisation_id=org_id, source=source, project_id=project_id, title=title, date=date,
                text_id=text_id)).inserted_primary_key[0]
            _log(conn, "evidence", [eid])
        elif old.text_id != text_id:
            conn.execute(update(t.evidence).where(t.evidence.c.id == old.id).values(
                text_id=text_id, title=title, date=date))
            _log(conn, "evidence", [old.id])
            self._drop_orphan_texts(conn, [old.text_id])

    def intern_texts(self, conn: Connection, texts: Sequence[str]) -> list[int]:
        """Ids of ``texts`` in the texts table, inserting (and logging) the new ones."""
        hashes = [text_hash(x) for x in texts]
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(hashes)), 500):
            q = select(t.texts.c.text_hash, t.texts.c.id).where(t.texts.c.text_hash.in_(chunk))
            found.update({h: i for h, i in conn.execute(q)})
        new: dict[str, str] = {h: x for h, x in zip(hashes, texts) if h not in found}
        for h, x in new.items():
            found[h] = int(conn.execute(insert(t.texts).values(text_hash=h, text=x)).inserted_primary_key[0])
        _log(conn, "text", [found[h] for h in new])
        return [found[h] for h in hashes]

    def _drop_orphan_texts(self, conn: Connection, text_ids: Iterable[int]) -> None:
        for tid in set(text_ids):
            used = conn.execute(select(t.evidence.c.id).where(t.evidence.c.text_id == tid).limit(1)).first()
            if used is None:
                conn.execute(delete(t.texts).where(t.texts.c.id == tid))
                _log(conn, "text", [tid], "delete")

    def get_organisations(self, ids: Iterable[int]) -> dict[int, Organisation]:
        ids = list({int(i) for i in ids})
        out: dict[int, Organisation] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids, 500):
                for row in conn.execute(select(t.organisations).where(t.organisations.c.id.in_(chunk))):
                    out[row.id] = _org_from_row(row)
        return out

    def organisations_by_external_id(self, conn: Connection, external_ids: Sequence[str]) -> dict[str, Organisation]:
        """Stored organisations among ``external_ids``, by external id."""
        out: dict[str, Organisation] = {}
        for chunk in _chunks(sorted(set(external_ids)), 500):
            for row in conn.execute(select(t.organisations).where(t.organisations.c.external_id.in_(chunk))):
                out[row.external_id] = _org_from_row(row)
        return out

    def get_organisation(self, org_id: int) -> Organisation:
        found = self.get_organisations([org_id])
        if org_id not in found:
            raise NotFound(Message("organisation {id} does not exist", id=org_id))
        return found[org_id]

    def find_organisation(self, external_id: str) -> Organisation | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.organisations).where(t.organisations.c.external_id == external_id)).first()
        return _org_from_row(row) if row is not None else None

    def list_organisations(self, offset: int = 0, limit: int = 50, kind: str | None = None,
                           country: str | None = None, name: str | None = None,
                           visibility: Sequence[str] | None = None) -> tuple[list[Organisation], int]:
        """A page of organisations ordered by name, and the total that match."""
        cond = t.organisations.c.id.is_not(None)
        if visibility is not None:
            cond &= t.organisations.c.visibility.in_(list(visibility))
        if kind:
            cond &= t.organisations.c.kind == kind
        if country:
            cond &= t.organisations.c.country == country.upper()
        if name:
            cond &= func.lower(t.organisations.c.name).contains(name.lower())
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(t.organisations).where(cond)).scalar_one()
            rows = conn.execute(select(t.organisations).where(cond).order_by(t.organisations.c.name,
                                t.organisations.c.id).offset(offset).limit(limit))
            return [_org_from_row(r) for r in rows], int(total)

    def delete_organisation(self, org_id: int, conn: Connection | None = None) -> None:
        if conn is None:
            with self.transaction() as c:
                return self.delete_organisation(org_id, c)
        ev = conn.execute(select(t.evidence.c.id, t.evidence.c.text_id).where(
            t.evidence.c.organisation_id == org_id)).all()
        res = conn.execute(delete(t.organisations).where(t.organisations.c.id == org_id))
        if res.rowcount == 0:
            raise NotFound(Message("organisation {id} does not exist", id=org_id))
        conn.execute(delete(t.evidence).where(t.evidence.c.organisation_id == org_id))
        _log(conn, "evidence", [e.id for e in ev], "delete")
        _log(conn, "organisation", [org_id], "delete")
        self._drop_orphan_texts(conn, [e.text_id for e in ev])

    def count_organisations(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.organisations)).scalar_one())

    # ---- evidence, texts and vectors ---------------------------------------------------
    def evidence_links(self) -> tuple[np.ndarray, np.ndarray]:
        """Arrays (text_id, organisation_id) of every evidence row, for aggregation."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.evidence.c.text_id, t.evidence.c.organisation_id)).all()
        # Read value by value: numpy probing every Row for the array protocols cost seconds at 270k rows.
        arr = np.fromiter((v for r in rows for v in r), dtype=np.int64, count=2 * len(rows)).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]

    def evidence_dates(self) -> tuple[np.ndarray, np.ndarray]:
        """Arrays (organisation_id, date as a proleptic ordinal, 0 when undated) of every evidence row."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.evidence.c.organisation_id, t.evidence.c.date)).all()
        orgs = np.asarray([r[0] for r in rows], dtype=np.int64)
        days = np.asarray([r[1].toordinal() if r[1] else 0 for r in rows], dtype=np.int64)
        return orgs, days

    def membership_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrays (project_id, organisation_id, project start year or 0) of every membership."""
        q = (select(t.memberships.c.project_id, t.memberships.c.organisation_id, t.projects.c.start_date)
             .join(t.projects, t.projects.c.id == t.memberships.c.project_id))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return (np.asarray([r[0] for r in rows], dtype=np.int64), np.asarray([r[1] for r in rows], dtype=np.int64),
                np.asarray([r[2].year if r[2] else 0 for r in rows], dtype=np.int64))

    def texts(self, ids: Iterable[int] | None = None) -> dict[int, tuple[str, str]]:
        """{text_id: (text_hash, text)} for ``ids`` (all texts when None)."""
        q = select(t.texts.c.id, t.texts.c.text_hash, t.texts.c.text)
        with self.engine.connect() as conn:
            if ids is None:
                return {r.id: (r.text_hash, r.text) for r in conn.execute(q)}
            out: dict[int, tuple[str, str]] = {}
            for chunk in _chunks(list(set(ids)), 500):
                out.update({r.id: (r.text_hash, r.text) for r in conn.execute(q.where(t.texts.c.id.in_(chunk)))})
            return out

    def evidence_of(self, org_id: int) -> list[dict[str, Any]]:
        """Evidence of one organisation, newest first: id, source, title, date, text_id, text."""
        q = (select(t.evidence.c.id, t.evidence.c.source, t.evidence.c.title, t.evidence.c.date,
                    t.evidence.c.text_id, t.evidence.c.project_id, t.texts.c.text)
             .join(t.texts, t.texts.c.id == t.evidence.c.text_id)
             .where(t.evidence.c.organisation_id == org_id))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return sorted(rows, key=lambda r: (r["date"] or dt.date.min), reverse=True)

    def evidence_for_texts(self, text_ids: Iterable[int], org_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Evidence rows (with text) of the given organisations whose text is among ``text_ids``."""
        q = (select(t.evidence.c.id, t.evidence.c.organisation_id, t.evidence.c.title, t.evidence.c.date,
                    t.evidence.c.text_id, t.texts.c.text)
             .join(t.texts, t.texts.c.id == t.evidence.c.text_id)
             .where(t.evidence.c.text_id.in_(list(set(text_ids))))
             .where(t.evidence.c.organisation_id.in_(list(set(org_ids)))))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def get_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(set(hashes)), 500):
                q = select(t.vectors.c.text_hash, t.vectors.c.vector).where(
                    (t.vectors.c.model_id == model_id) & t.vectors.c.text_hash.in_(chunk))
                out.update({h: np.frombuffer(v, dtype=np.float32) for h, v in conn.execute(q)})
        return out

    def put_vectors(self, model_id: str, hashes: Sequence[str], matrix: np.ndarray) -> None:
        """Store vectors (float32 rows of ``matrix``) for text hashes not stored yet."""
        have = self.get_vectors(model_id, hashes)
        rows = [{"model_id": model_id, "text_hash": h, "dim": int(matrix.shape[1]),
                 "vector": np.ascontiguousarray(v, dtype=np.float32).tobytes()}
                for h, v in zip(hashes, matrix) if h not in have]
        if not rows:
            return
        try:
            with self.transaction() as conn:
                for chunk in _chunks(rows, 1000):
                    conn.execute(insert(t.vectors), list(chunk))
        except IntegrityError:  # another process stored some of them first: keep theirs, add the rest
            for row in rows:
                try:
                    with self.transaction() as conn:
                        conn.execute(insert(t.vectors), [row])
                except IntegrityError:
                    pass

    def texts_without_vectors(self, model_id: str) -> list[tuple[str, str]]:
        """(text_hash, text) of every stored text that has no vector for ``model_id`` yet."""
        v = t.vectors
        q = (select(t.texts.c.text_hash, t.texts.c.text)
             .outerjoin(v, (v.c.text_hash == t.texts.c.text_hash) & (v.c.model_id == model_id))
             .where(v.c.text_hash.is_(None)).order_by(t.texts.c.id))
        with self.engine.connect() as conn:
            return [(h, x) for h, x in conn.execute(q)]

    def count_without_vectors(self, model_id: str, text_ids: Iterable[int]) -> int:
        """How many of the texts ``text_ids`` (those still stored) have no vector for ``model_id``."""
        v, n = t.vectors, 0
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(text_ids)), 500):
                q = (select(func.count(t.texts.c.id))
                     .outerjoin(v, (v.c.text_hash == t.texts.c.text_hash) & (v.c.model_id == model_id))
                     .where(t.texts.c.id.in_(chunk) & v.c.text_hash.is_(None)))
                n += int(conn.execute(q).scalar_one())
        return n

    def text_vectors(self, model_id: str, text_ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(text ids, float32 matrix) of stored texts that have a vector for ``model_id``."""
        q = (select(t.texts.c.id, t.vectors.c.vector)
             .join(t.vectors, (t.vectors.c.text_hash == t.texts.c.text_hash) & (t.vectors.c.model_id == model_id)))
        rows: list[Any] = []
        with self.engine.connect() as conn:
            if text_ids is None:
                rows = conn.execute(q.order_by(t.texts.c.id)).all()
            else:
                for chunk in _chunks(sorted(set(text_ids)), 500):
                    rows.extend(conn.execute(q.where(t.texts.c.id.in_(chunk))).all())
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        return ids, np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def organisation_table(self) -> list[tuple[int, str, str, str, bool, str]]:
        """(id, kind, country, nuts, sme, visibility) of every organisation, for in-memory filters."""
        o = t.organisations.c
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(o.id, o.kind, o.country, o.nuts, o.sme, o.visibility)
                                                   .order_by(o.id))]  # type: ignore[misc]

    # ---- projects and memberships -------------------------------------------------------
    def partners_of(self, org_id: int) -> dict[int, int]:
        """{partner organisation id: number of shared projects} from stored memberships."""
        m1, m2 = t.memberships.alias("m1"), t.memberships.alias("m2")
        q = (select(m2.c.organisation_id, func.count()).select_from(m1.join(m2, m1.c.project_id == m2.c.project_id))
             .where((m1.c.organisation_id == org_id) & (m2.c.organisation_id != org_id))
             .group_by(m2.c.organisation_id))
        with self.engine.connect() as conn:
            return {int(o): int(n) for o, n in conn.execute(q)}

    def upsert_projects(self, conn: Connection, projects: Sequence[Project]) -> list[int]:
        """Insert projects not stored yet (by ``external_id``), update the others; returns ids."""
        ids: list[int] = []
        for chunk in _chunks(list(projects), 500):
            keys = [p.external_id for p in chunk if p.external_id]
            known = {e: i for e, i in conn.execute(select(t.projects.c.external_id, t.projects.c.id).where(
                t.projects.c.external_id.in_(keys)))}
            for p in chunk:
                values = {k: getattr(p, k) for k in ("external_id", "acronym", "title", "objective", "start_date",
                                                        "end_date", "funding_scheme", "source")}
                pid = p.id or known.get(p.external_id or "")
                if pid is None:
                    pid = int(conn.execute(insert(t.projects).values(**values)).inserted_primary_key[0])
                    _log(conn, "project", [pid])
                else:
                    conn.execute(update(t.projects).where(t.projects.c.id == pid).values(**values))
                ids.append(int(pid))
        return ids

    def add_memberships(self, conn: Connection, rows: Sequence[tuple[int, int, str]]) -> int:
        """Add (project_id, organisation_id, role) rows not stored yet; returns how many were new."""
        have = set()
        for chunk in _chunks(sorted({r[0] for r in rows}), 500):
            q = select(t.memberships.c.project_id, t.memberships.c.organisation_id).where(
                t.memberships.c.project_id.in_(chunk))
            have.update((p, o) for p, o in conn.execute(q))
        new = [{"project_id": p, "organisation_id": o, "role": r} for p, o, r in rows if (p, o) not in have]
        for chunk in _chunks(new, 1000):
            conn.execute(insert(t.memberships), list(chunk))
        return len(new)

    def add_project_evidence(self, conn: Connection, rows: Sequence[tuple[int, int, str, str, dt.date | None]]
                             ) -> int:
        """Add evidence (organisation_id, project_id, title, text, date) not stored yet; returns new count."""
        have = set()
        for chunk in _chunks(sorted({r[1] for r in rows}), 500):
            q = select(t.evidence.c.organisation_id, t.evidence.c.project_id).where(
                (t.evidence.c.source == "project") & t.evidence.c.project_id.in_(chunk))
            have.update((o, p) for o, p in conn.execute(q))
        todo = [r for r in rows if (r[0], r[1]) not in have]
        text_ids = self.intern_texts(conn, [r[3] for r in todo])
        new = [{"organisation_id": o, "source": "project", "project_id": p, "title": title, "date": d,
                "text_id": tid} for (o, p, title, _x, d), tid in zip(todo, text_ids)]
        for chunk in _chunks(new, 1000):
            conn.execute(insert(t.evidence), list(chunk))
        if new:  # bulk inserts do not return ids portably: log the organisations' evidence by org
            _log(conn, "organisation", sorted({r["organisation_id"] for r in new}))
        return len(new)

    # ---- challenges ---------------------------------------------------------------------
    def save_challenge(self, ch: Challenge, conn: Connection | None = None) -> int:
        """Insert (``id`` None, or matched by ``external_id``) or update a challenge; returns its id.
        In the transaction of ``conn`` when given (an audit record can then commit with it)."""
        if not ch.title.strip() or not ch.description.strip():
            raise InvalidInput(Message("a challenge needs a non-empty title and description"))
        if conn is None:
            with self.transaction() as c:
                return self.save_challenge(ch, c)
        stamp = now()
        values = {k: getattr(ch, k) for k in _CHALLENGE_FIELDS
                  if k not in ("id", "version", "created_at", "updated_at")}
        cid = ch.id
        if cid is None and ch.external_id:
            cid = conn.execute(select(t.challenges.c.id).where(
                t.challenges.c.external_id == ch.external_id)).scalar()
        if cid is None:
            cid = int(conn.execute(insert(t.challenges).values(created_at=stamp, updated_at=stamp, version=1,
                                                               **values)).inserted_primary_key[0])
        elif conn.execute(update(t.challenges).where(t.challenges.c.id == cid).values(
                updated_at=stamp, version=t.challenges.c.version + 1, **values)).rowcount == 0:
            raise NotFound(Message("challenge {id} does not exist", id=cid))
        version = conn.execute(select(t.challenges.c.version).where(t.challenges.c.id == cid)).scalar_one()
        conn.execute(insert(t.challenge_versions).values(
            challenge_id=cid, version=version, title=ch.title, description=ch.description,
            wanted_kinds=list(ch.wanted_kinds), roles=ch.roles, saved_at=stamp))
        _log(conn, "challenge", [cid])
        return int(cid)

    def challenge_versions(self, challenge_id: int) -> list[dict[str, Any]]:
        """Every saved state of a challenge (title, description, wanted kinds, roles), oldest first."""
        v = t.challenge_versions
        with self.engine.connect() as conn:
            rows = conn.execute(select(v).where(v.c.challenge_id == challenge_id).order_by(v.c.version)).all()
        return [{**r._mapping, "wanted_kinds": list(r.wanted_kinds or [])} for r in rows]

    def get_challenge(self, challenge_id: int) -> Challenge:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.challenges).where(t.challenges.c.id == challenge_id)).first()
        if row is None:
            raise NotFound(Message("challenge {id} does not exist", id=challenge_id))
        return _challenge_from_row(row)

    def list_challenges(self) -> list[Challenge]:
        with self.engine.connect() as conn:
            return [_challenge_from_row(r) for r in conn.execute(select(t.challenges).order_by(t.challenges.c.id))]

    def delete_challenge(self, challenge_id: int, conn: Connection | None = None) -> None:
        if conn is None:
            with self.transaction() as c:
                return self.delete_challenge(challenge_id, c)
        if conn.execute(delete(t.challenges).where(t.challenges.c.id == challenge_id)).rowcount == 0:
            raise NotFound(Message("challenge {id} does not exist", id=challenge_id))
        _log(conn, "challenge", [challenge_id], "delete")


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]
