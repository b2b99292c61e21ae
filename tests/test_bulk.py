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

from matcher.domain import Organisation
from matcher.ingest.cordis import CordisData
from matcher.retrieval.bulk import embed_pending
from matcher.retrieval.embed import load_encoder
from matcher.storage import schema as t
from matcher.storage.claims import EmbedClaims
from matcher.storage.store import Store
from tests.conftest import ROOT

MODEL = "minilm"
LEASE = 2.0  # seconds; a batch of ten titles takes a few milliseconds to embed


@pytest.fixture(scope="module")
def titles(health: CordisData) -> list[str]:
    """900 distinct real project titles."""
    return sorted({p["title"].strip() for p in health.projects.values() if p["title"].strip()})[:900]


def _add(store: Store, texts: list[str]) -> None:
    with store.transaction() as conn:
        store.intern_texts(conn, texts)


def _matcher(url: str, home: Path, *args: str) -> subprocess.Popen[str]:
    """``matcher ARGS`` in a process of its own: one worker or host, with its own MATCHER_HOME."""
    env = {**os.environ, "MATCHER_DATABASE_URL": url, "MATCHER_HOME": str(home), "MATCHER_MODEL": MODEL,
           "MATCHER_EMBED_LEASE": str(LEASE), "MATCHER_RANKER": "off", "MATCHER_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "matcher", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _worker(url: str, home: Path, *args: str) -> subprocess.Popen[str]:
    return _matcher(url, home, "embed", "--json", *args)


def _held_by(store: Store) -> dict[int, list[str]]:
    """Text hashes under a running lease, by the process id of the worker holding them."""
    c = t.embed_claims
    held: dict[int, list[str]] = {}
    with store.engine.connect() as conn:
        for worker, h in conn.execute(select(c.c.worker, c.c.text_hash).where(c.c.expires_at >= func.now())):
            held.setdefault(int(worker.split(":")[-2]), []).append(h)
    return held


def _kill_one_holding_a_batch(store: Store, procs: list[subprocess.Popen[str]]
                              ) -> tuple[subprocess.Popen[str], list[str]]:
    """SIGKILL the first of ``procs`` seen holding a claimed batch (stopped first, so that the batch it dies
    with is known for sure); returns it and that batch."""
    by_pid = {p.pid: p for p in procs}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), "a worker finished before one could be killed"
        for pid in set(_held_by(store)) & set(by_pid):
            by_pid[pid].send_signal(signal.SIGSTOP)
            held = _held_by(store).get(pid)
            if held:
                by_pid[pid].kill()
                by_pid[pid].wait()
                return by_pid[pid], held
            by_pid[pid].send_signal(signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError("no worker ever held a batch")


def _one_vector_per_text(store: Store, model_id: str) -> dict[str, np.ndarray]:
    """The stored vectors of ``model_id``, checked: exactly one per text (none missing, none extra)."""
    v = t.vectors
    with store.engine.connect() as conn:
        stored = {h: np.frombuffer(x, np.float32) for h, x in conn.execute(
            select(v.c.text_hash, v.c.vector).where(v.c.model_id == model_id))}
        assert conn.execute(select(func.count()).select_from(v).where(v.c.model_id == model_id)
                            ).scalar_one() == len(stored)
        assert conn.execute(select(func.count()).select_from(t.embed_claims)).scalar_one() == 0
    assert set(stored) == {h for h, _x in store.texts().values()}
    return stored


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_three_workers_share_the_texts_and_one_dies(store: Store, titles: list[str], tmp_path: Path) -> None:
    titles = titles[:300]
    _add(store, titles)
    workers = [_worker(store.url, tmp_path, "--batch", "10") for _ in range(3)]
    victim, lost = _kill_one_holding_a_batch(store, workers)
    survivors = [p for p in workers if p is not victim]
    reports = [json.loads(p.communicate(timeout=180)[0]) for p in survivors]
    assert [p.returncode for p in survivors] == [0, 0]
    model_id = reports[0]["model"]
    assert all(set(r) == {"embedded", "remaining", "model"} and r["remaining"] == 0 for r in reports)

    # every text has exactly one vector of the model: none missing, none twice, the right one
    stored = _one_vector_per_text(store, model_id)
    assert set(lost) <= set(stored)  # the dead worker's batch was claimed again when its lease ran out
    found = dict(store.texts().values())  # every text, by hash
    sample = sorted(found)[:5]
    expected = load_encoder(MODEL).encode_documents([found[h] for h in sample])
    assert np.allclose(np.vstack([stored[h] for h in sample]), expected, atol=1e-5)
    with store.engine.connect() as conn:
        tallies = {w: n for w, n in conn.execute(select(t.embed_workers.c.worker, t.embed_workers.c.embedded))}

    # no text was embedded twice: what the workers embedded, the dead one included, adds up to the texts
    assert sum(tallies.values()) == len(titles)
    by_pid = {int(w.split(":")[-2]): n for w, n in tallies.items()}
    assert [by_pid[p.pid] for p in survivors] == [r["embedded"] for r in reports]
    assert all(r["embedded"] > 0 for r in reports)


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_three_hosts_share_the_embedding_one_dies_and_all_rank_alike(store: Store, titles: list[str],
                                                                      tmp_path: Path) -> None:
    """Three hosts index a fresh import at once (``matcher index``: what ``matcher serve`` does before it
    serves), each into its own index folder; one dies with SIGKILL holding a batch of 256 texts."""
    store.upsert_organisations([Organisation(name=f"Lab {i}", kind="university", country="NL", description=x)
                                for i, x in enumerate(titles)])
    homes = [tmp_path / f"host{i}" for i in range(3)]
    hosts = [_matcher(store.url, home, "index", "--json") for home in homes]
    victim, lost = _kill_one_holding_a_batch(store, hosts)
    for p in hosts:
        if p is not victim:
            out, errs = p.communicate(timeout=300)
            assert p.returncode == 0, errs[-2000:]
            assert json.loads(out)["vectors"] == len(titles)  # its index holds every text
    stored = _one_vector_per_text(store, load_encoder(MODEL).model_id)
    assert set(lost) <= set(stored)
    with store.engine.connect() as conn:
        assert sum(conn.execute(select(t.embed_workers.c.embedded)).scalars()) == len(titles)  # none twice

    # the dead host restarts (its index is rebuilt from the stored vectors): all three rank alike
    searches = [_matcher(store.url, home, "search", "wearable sensors for heart failure patients at home",
                         "-k", "10", "--json") for home in homes]
    rankings = []
    for p in searches:
        out, errs = p.communicate(timeout=300)
        assert p.returncode == 0, errs[-2000:]
        rankings.append([(s["organisation"]["id"], round(s["score"], 4)) for s in json.loads(out)["data"]])
    assert len(rankings[0]) == 10 and rankings[0] == rankings[1] == rankings[2]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_without_waiting_a_worker_stops_when_the_rest_is_claimed_by_others(store: Store, titles: list[str]) -> None:
    _add(store, titles[:50])
    encoder = load_encoder(MODEL)
    held = EmbedClaims(store, encoder.model_id, "another host", lease=60).claim(20)
    report = embed_pending(store, encoder, batch=16, wait=False)
    assert (report.embedded, report.remaining, report.model) == (30, 20, encoder.model_id)
    assert EmbedClaims(store, encoder.model_id).progress().claimed == len(held)


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
