"""Print the cross-lingual figures (Dutch vs English questions) on the demo data as JSON.

Usage (a MATCHER_HOME of your own; the demo is loaded there when its database is empty)::

    MATCHER_HOME=/tmp/xl .venv/bin/python scripts/crosslingual.py [--k 10] [--pairs data/crosslingual/pairs.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matcher.config import get_settings
from matcher.demo import load_demo
from matcher.evaluation.crosslingual import PAIRS_FILE, load_pairs, run_crosslingual
from matcher.retrieval.embed import load_encoder
from matcher.service import open_matcher, open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10, help="length of the compared top lists")
    parser.add_argument("--pairs", type=Path, default=PAIRS_FILE, help="the pairs file")
    args = parser.parse_args()
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    if store.count_organisations() == 0:
        load_demo(store, encoder=load_encoder(settings.model))
    matcher = open_matcher(settings, store)
    matcher.sync()
    print(json.dumps(run_crosslingual(matcher, load_pairs(args.pairs), k=args.k), indent=2))


if __name__ == "__main__":
    main()
