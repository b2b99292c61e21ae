"""Bulk embedding with ``matcher embed``: several worker processes over one PostgreSQL database, one of them
killed with SIGKILL in the middle; and the JSON a script reads, on SQLite.

The catalogue is tiny (a few hundred real project titles) and the model the fast ONNX MiniLM, so the
three processes finish in seconds; a short lease (MATCHER_EMBED_LEASE) lets the dead worker's batch be
claimed again without waiting minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from matcher.ingest.cordis import CordisData
from matcher.retrieval.embed import load_encoder
from matcher.storage import schema as t
from matcher.storage.claims import EmbedClaims
from matcher.storage.store import Store
from tests.conftest import ROOT

MODEL = "minilm"
LEASE = 2.0  # seconds; a batch of ten titles takes a few milliseconds to embed


@pytest.fixture(scope="module")
def titles(health: CordisData) -> list[str]:
    """300 distinct real project titles."""
    return sorted({p["title"].strip() for p in health.projects.values() if p["title"].strip()})[:300]


def _add(store: Store, texts: list[str]) -> None:
    with store.transaction() as conn:
        store.intern_texts(conn, texts)


def _worker(url: str, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MATCHER_DATABASE_URL": url, "MATCHER_HOME": str(home), "MATCHER_MODEL": MODEL,
           "MATCHER_EMBED_LEASE": str(LEASE), "MATCHER_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "matcher", "embed", "--json", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _held_by(store: Store, pid: int) -> list[str]:
    """Text hashes under a running lease of the worker process ``pid``."""
    c = t.embed_claims
    with store.engine.connect() as conn:
        return list(conn.execute(select(c.c.text_hash).where(
            c.c.worker.like(f"%:{pid}:%") & (c.c.expires_at >= func.now()))).scalars())


def _kill_while_it_holds_a_batch(store: Store, proc: subprocess.Popen[str]) -> list[str]:
    """SIGKILL ``proc`` at a moment it holds a claimed batch (stopped first, so the batch is known); returns it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the worker finished before it could be killed: {proc.stderr.read()}"  # type: ignore[union-attr]
        if _held_by(store, proc.pid):
            proc.send_signal(signal.SIGSTOP)
            held = _held_by(store, proc.pid)
            if held:
                proc.kill()
                proc.wait()
                return held
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError("the worker never held a batch")


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_three_workers_share_the_texts_and_one_dies(store: Store, titles: list[str], tmp_path: Path) -> None:
    _add(store, titles)
    workers = [_worker(store.url, tmp_path, "--batch", "10") for _ in range(3)]
    victim, survivors = workers[0], workers[1:]
    lost = _kill_while_it_holds_a_batch(store, victim)
    reports = [json.loads(p.communicate(timeout=180)[0]) for p in survivors]
    assert [p.returncode for p in survivors] == [0, 0]
    model_id = reports[0]["model"]
    assert all(set(r) == {"embedded", "remaining", "model"} and r["remaining"] == 0 for r in reports)

    # every text has exactly one vector of the model: none missing, none twice, the right one
    v = t.vectors
    with store.engine.connect() as conn:
        stored = {h: np.frombuffer(x, np.float32) for h, x in conn.execute(
            select(v.c.text_hash, v.c.vector).where(v.c.model_id == model_id))}
        tallies = {w: n for w, n in conn.execute(select(t.embed_workers.c.worker, t.embed_workers.c.embedded))}
        assert conn.execute(select(func.count()).select_from(t.embed_claims)).scalar_one() == 0
    found = dict(store.texts().values())  # every text, by hash
    assert set(stored) == set(found) and len(stored) == len(titles)
    assert set(lost) <= set(stored)  # the dead worker's batch was claimed again when its lease ran out
    sample = sorted(found)[:5]
    expected = load_encoder(MODEL).encode_documents([found[h] for h in sample])
    assert np.allclose(np.vstack([stored[h] for h in sample]), expected, atol=1e-5)

    # no text was embedded twice: what the workers embedded, the dead one included, adds up to the texts
    assert sum(tallies.values()) == len(titles)
    by_pid = {int(w.split(":")[-2]): n for w, n in tallies.items()}
    assert [by_pid[p.pid] for p in survivors] == [r["embedded"] for r in reports]
    assert all(r["embedded"] > 0 for r in reports)


def test_embed_json_on_sqlite(sqlite_store: Store, titles: list[str], tmp_path: Path) -> None:
    _add(sqlite_store, titles[:40])
    first = _worker(sqlite_store.url, tmp_path, "--batch", "16")
    out, errs = first.communicate(timeout=180)
    assert first.returncode == 0 and errs == ""  # quiet when stderr is not a terminal
    body = json.loads(out)
    assert body == {"embedded": 40, "remaining": 0, "model": load_encoder(MODEL).model_id}
    assert list(body) == ["embedded", "remaining", "model"]
    assert EmbedClaims(sqlite_store, body["model"]).progress().remaining == 0
    again = _worker(sqlite_store.url, tmp_path)
    assert json.loads(again.communicate(timeout=180)[0]) == {**body, "embedded": 0}
