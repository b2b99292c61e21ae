"""SIGKILL in the middle of bulk imports: every acknowledged row survives, the index agrees with the database.

A real server takes sequential member-list uploads while another client searches (so the
server embeds and saves its index while it imports). Once a few uploads were acknowledged,
every process of the server is killed with SIGKILL while the next upload is in flight. A new
server over the same home must hold every row of every acknowledged upload, nothing of a
half-written one, and an index with one vector per stored text that finds the new rows.
"""

from __future__ import annotations

import csv
import io
import threading
import time

import httpx
import pytest

from matcher.ingest.cordis import CordisData
from matcher.ingest.load import member_key
from tests.api.live import Server, count_texts, make_home, running

BATCHES, ROWS = 30, 40  # far more than get through before the kill
ACKED_BEFORE_KILL = 3
TOPICS = ["wearable ECG patches", "robotic catheter steering", "microneedle insulin delivery",
          "AI triage of skin lesions", "home dialysis monitoring", "3D-printed bone implants"]


def member_csv(batch: int) -> bytes:
    """One member list of ``ROWS`` organisations; row 0 of each batch carries a unique marker word."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "name", "kind", "country", "description"])
    for r in range(ROWS):
        marker = f" Codeword kilo{batch}x." if r == 0 else ""
        w.writerow([f"b{batch}-r{r}", f"Kill Test {batch}-{r} BV", "sme", "NL",
                    f"Batch {batch}, row {r}: we develop {TOPICS[(batch + r) % len(TOPICS)]}.{marker}"])
    return buf.getvalue().encode()


def _upload(server: Server, acked: list[int], stop: threading.Event) -> None:
    """Upload the batches one after another; record each batch whose upload was answered 200."""
    for b in range(BATCHES):
        if stop.is_set():
            return
        try:
            r = httpx.post(f"{server.url}/v1/organisations/import", headers=server.headers, timeout=60,
                           files={"file": (f"batch{b}.csv", member_csv(b), "text/csv")})
        except httpx.HTTPError:  # the server died under this upload: not acknowledged
            return
        if r.status_code == 200 and r.json()["imported"] == ROWS:
            acked.append(b)


def _search_while_importing(server: Server, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            httpx.post(f"{server.url}/v1/search", headers=server.headers, timeout=60,
                       json={"text": "microneedle insulin delivery for diabetes", "k": 5})
        except httpx.HTTPError:
            return


def test_sigkill_during_bulk_import_loses_nothing_acknowledged(tmp_path_factory: pytest.TempPathFactory,
                                                               small_cordis: CordisData) -> None:
    home = make_home(tmp_path_factory.mktemp("kill"), small_cordis)
    acked: list[int] = []
    stop = threading.Event()
    server = Server(home).start()
    try:
        threads = [threading.Thread(target=_upload, args=(server, acked, stop)),
                   threading.Thread(target=_search_while_importing, args=(server, stop))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline and threads[0].is_alive():
            time.sleep(0.05)
        server.kill()  # mid-upload: the uploader keeps sending until the kill
        stop.set()
        for t in threads:
            t.join(90)
    finally:
        server.stop()
    assert ACKED_BEFORE_KILL <= len(acked) < BATCHES, acked

    store = home.store()
    try:
        for b in range(BATCHES):  # each upload is all or nothing, and every acknowledged one is all there
            present = sum(store.find_organisation(member_key("", "", f"b{b}-r{r}")) is not None
                          for r in range(ROWS))
            assert present in (0, ROWS), (b, present)
            if b in acked:
                assert present == ROWS, b
    finally:
        store.close()

    with running(home) as again:
        ready = httpx.get(f"{again.url}/ready", timeout=10).json()
        assert ready["vectors"] == count_texts(home)
        for b in acked:
            r = httpx.post(f"{again.url}/v1/search", headers=again.headers, timeout=30,
                           json={"text": f"Codeword kilo{b}x", "k": 3})
            names = [s["organisation"]["name"] for s in r.json()["data"]]
            assert f"Kill Test {b}-0 BV" in names, (b, names)
