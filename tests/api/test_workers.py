"""Two worker processes, one truth: a write through either worker is seen in matching by both.

A real ``matcher serve --workers 2`` on loopback. Each response names the process that
answered (``X-Matcher-Worker``); requests go on fresh connections, several at a time, so
that both workers answer. Every search issued after a write was acknowledged must already
reflect it: the index follows the database change number on each search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import pytest

from matcher.ingest.cordis import CordisData
from tests.api.live import Server, count_texts, make_home, running

DISTINCT = ("Cryogenic zebrafish-embryo organ-on-chip for quokka-inspired regenerative wound healing, "
            "built on glass microfluidics.")
CHANGED = "Bioluminescent axolotl tissue scaffolds for limb regeneration after amputation."
T = TypeVar("T")
ROUNDS = 40  # searches per check, at most; stops early once both workers answered a few times each


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, small_cordis: CordisData) -> Iterator[Server]:
    with running(make_home(tmp_path_factory.mktemp("workers"), small_cordis), workers=2) as server:
        yield server


def _search(server: Server, text: str) -> tuple[str, list[int]]:
    """(worker that answered, organisation ids found) for one search on a fresh connection."""
    r = httpx.post(f"{server.url}/v1/search", json={"text": text, "k": 5}, headers=server.headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.headers["X-Matcher-Worker"], [s["organisation"]["id"] for s in r.json()["data"]]


def _vectors(server: Server) -> tuple[str, int]:
    """(worker that answered, vectors in its index) from /ready on a fresh connection."""
    r = httpx.get(f"{server.url}/ready", timeout=10)
    assert r.status_code == 200, r.text
    return r.headers["X-Matcher-Worker"], int(r.json()["vectors"])


def _on_both(call: Callable[[], tuple[str, T]]) -> list[tuple[str, T]]:
    """Calls, four at a time, until each of the two workers answered at least three of them."""
    answers: list[tuple[str, T]] = []
    with ThreadPoolExecutor(4) as pool:
        while len(answers) < ROUNDS:
            answers.extend(pool.map(lambda _: call(), range(4)))
            workers = [w for w, _ in answers]
            if len(set(workers)) == 2 and min(workers.count(w) for w in set(workers)) >= 3:
                break
    return answers


def _search_on_both(server: Server, text: str) -> list[tuple[str, list[int]]]:
    return _on_both(lambda: _search(server, text))


def test_two_workers_answer(two_workers: Server) -> None:
    workers = {w for w, _ in _search_on_both(two_workers, "wearable sensors for cardiac monitoring")}
    assert len(workers) == 2


def test_a_write_through_one_worker_is_seen_by_both(two_workers: Server) -> None:
    s = two_workers
    r = httpx.post(f"{s.url}/v1/organisations", headers=s.headers, timeout=30, json={
        "name": "Quokka Regeneration Lab", "kind": "research_institute", "country": "NL", "description": DISTINCT})
    assert r.status_code == 201, r.text
    oid, writer = r.json()["id"], r.headers["X-Matcher-Worker"]
    answers = _search_on_both(s, DISTINCT)
    assert {w for w, _ in answers} >= {writer} and len({w for w, _ in answers}) == 2
    assert all(oid in ids for _, ids in answers), answers

    r = httpx.patch(f"{s.url}/v1/organisations/{oid}", headers=s.headers, timeout=30, json={"description": CHANGED})
    assert r.status_code == 200, r.text
    answers = _search_on_both(s, CHANGED)
    assert len({w for w, _ in answers}) == 2 and all(oid in ids for _, ids in answers), answers

    assert httpx.delete(f"{s.url}/v1/organisations/{oid}", headers=s.headers, timeout=30).status_code == 204
    answers = _search_on_both(s, CHANGED)
    assert len({w for w, _ in answers}) == 2 and not any(oid in ids for _, ids in answers), answers
    # and each worker's index holds exactly the texts the database holds
    stored = count_texts(s.home)
    answers = _on_both(lambda: _vectors(s))
    assert len({w for w, _ in answers}) == 2 and {n for _, n in answers} == {stored}, (answers, stored)


def _status_with(server: Server, key: str) -> tuple[str, int]:
    """(worker that answered, status) of a read with ``key``, on a fresh connection."""
    r = httpx.get(f"{server.url}/v1/challenges", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return r.headers["X-Matcher-Worker"], r.status_code


def test_a_key_revoked_through_one_worker_is_refused_at_once_by_both(two_workers: Server) -> None:
    """No worker keeps a key valid from memory: each checks the database on every request."""
    s = two_workers
    r = httpx.post(f"{s.url}/v1/keys", headers=s.headers, timeout=30, json={"role": "viewer", "label": "leaked"})
    assert r.status_code == 201, r.text
    key, key_id = r.json()["key"], r.json()["id"]
    answers = _on_both(lambda: _status_with(s, key))
    assert len({w for w, _ in answers}) == 2 and {code for _, code in answers} == {200}, answers

    r = httpx.delete(f"{s.url}/v1/keys/{key_id}", headers=s.headers, timeout=30)
    assert r.status_code == 204, r.text
    revoker = r.headers["X-Matcher-Worker"]
    answers = _on_both(lambda: _status_with(s, key))  # every request after the revocation was acknowledged
    assert len({w for w, _ in answers}) == 2 and revoker in {w for w, _ in answers}
    assert {code for _, code in answers} == {401}, answers
