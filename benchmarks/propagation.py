"""Change propagation between hosts: seconds from a committed write on one host until another serves it.

Two "hosts" over one PostgreSQL database, each with its own store (engine, connections) and index;
host B follows the database with a :class:`~matcher.retrieval.follow.Follower`. Each write adds an
organisation with a new description through host A; the lag is the time until B's snapshot is at the
write's change number, with nobody querying B. Three ways: NOTIFY (polling set to a minute, so only the
notification counts), polling only, every ``--poll`` seconds (SQLite's way, and PostgreSQL's fallback), and
``notify_only``: the time until B's feed returns the new change number, without the sync (the
notification's own delivery). The lag with a follower includes embedding the new texts on B and the
catch-up of its indexes.

    .venv/bin/python benchmarks/propagation.py --url postgresql://... [--writes 20] [--poll 2] [--model M]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from common import machine_line, summary
from sqlalchemy import create_engine, text

from matcher.config import DEFAULT_MODEL
from matcher.domain import Organisation
from matcher.engine import Matcher
from matcher.retrieval.embed import load_encoder
from matcher.retrieval.follow import Follower
from matcher.storage.notify import ChangeFeed
from matcher.storage.store import Store

SEED = ["Organ-on-chip platforms for drug screening.", "Sensoren voor valpreventie bij ouderen thuis.",
        "MRI reconstruction with deep learning for prostate cancer."]


def _org(i: int) -> Organisation:
    return Organisation(name=f"Host test {uuid.uuid4().hex[:6]}", kind="startup", country="NL",
                        description=f"Wearable patch number {i} that records the ECG and detects arrhythmia.")


def _wait_for(target: int, current, limit: float = 120.0) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if current() >= target:
            return time.monotonic() - start
        time.sleep(0.002)
    raise SystemExit(f"not propagated within {limit} s")


def lags(url: str, model: str, writes: int, poll: float | None, home: Path) -> list[float]:
    """Milliseconds per write until host B has it (``poll`` None: notify only, no sync)."""
    a, b_store = Store(url), Store(url)
    out = []
    if poll is None:
        feed = ChangeFeed(b_store, poll=60.0)
        seen = [feed.wait(-1, 0.1)]
        for i in range(writes):
            t0 = time.monotonic()
            a.upsert_organisations([_org(i)])
            target = a.change_no()
            while seen[-1] < target and time.monotonic() - t0 < 60:
                seen.append(feed.wait(seen[-1], 0.5))
            out.append((time.monotonic() - t0) * 1000)
        feed.close()
    else:
        b = Matcher(b_store, load_encoder(model), home / f"b-{poll}")
        b.sync()
        follower = Follower(b.upkeep, poll, listen=poll >= 60).start()
        time.sleep(0.3)
        for i in range(writes):
            a.upsert_organisations([_org(i)])
            target = a.change_no()
            out.append(_wait_for(target, lambda: b.snapshot_.change_no if b.snapshot_ else -1) * 1000)
            time.sleep(random.uniform(0.05, poll if poll < 60 else 0.1))  # writes at random moments of the poll cycle
        follower.stop()
    a.close()
    b_store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("MATCHER_TEST_POSTGRES_URL", ""))
    ap.add_argument("--writes", type=int, default=20)
    ap.add_argument("--poll", type=float, default=2.0)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--small", action="store_true", help="a smoke run: 3 writes, use-m3, polling every 0.5 s")
    args = ap.parse_args()
    if not args.url:
        raise SystemExit("--url (or MATCHER_TEST_POSTGRES_URL) is needed: scripts/pg-throwaway.sh starts a server")
    writes, model = (3, "use-m3") if args.small else (args.writes, args.model)
    poll = 0.5 if args.small else args.poll
    print(machine_line(), flush=True)
    admin = create_engine(args.url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"matcher_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = args.url.rsplit("/", 1)[0] + "/" + name
    try:
        seed = Store(url)
        seed.upsert_organisations([Organisation(name=f"Seed {i}", kind="sme", description=d)
                                   for i, d in enumerate(SEED)])
        seed.close()
        result: dict[str, object] = {"model": model, "writes": writes, "poll_s": poll}
        with tempfile.TemporaryDirectory() as tmp:
            for label, every in (("notify_only", None), ("notify", 60.0), ("polling", poll)):
                result[label] = summary(lags(url, model, writes, every, Path(tmp)))
                print(label, json.dumps(result[label]), flush=True)
        print("RESULT " + json.dumps(result))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
