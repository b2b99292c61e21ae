"""Build data/demo/ from the shared CORDIS copies (run once by a developer; the output is committed).

Selection (see data/demo/README.md):

* every organisation with an address in NUTS NL21 (Overijssel) or NL22 (Gelderland) in
  ``cordis_he_all``, with all of its Horizon Europe projects;
* every organisation that worked with one of them in a health project (``is_health``),
  with all of its health projects (its non-health projects are left out to keep the demo small).

Precomputed vectors of every evidence text are written for the packaged models, so that
``make run`` on a fresh machine serves within a minute instead of embedding for minutes.

Usage: python scripts/build_demo.py ../shared/data data/demo
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.demo import write_demo_vectors  # noqa: E402
from matcher.retrieval.embed import MiniLMEncoder, USEEncoder  # noqa: E402
from matcher.storage.store import text_hash  # noqa: E402
from matcher.text import project_text  # noqa: E402

EAST = ("NL21", "NL22")
PROJECT_COLUMNS = ["project_id", "acronym", "title", "objective", "start_date", "end_date", "funding_scheme",
                   "topic_code", "legal_basis", "is_health"]
PARTICIPANT_COLUMNS = ["project_id", "organisation_id", "name", "short_name", "activity_type", "sme", "role",
                       "country", "city", "nuts_code", "website"]


def read(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def main(shared: Path, out: Path) -> None:
    projects = {p["project_id"]: p for p in read(shared / "cordis_he_all" / "projects.csv.gz")}
    rows = read(shared / "cordis_he_all" / "participants.csv.gz")
    # cordis_he_all records no SME flag; the health copy does, per participation
    sme = {r["organisation_id"] for r in read(shared / "cordis_health" / "participants.csv.gz")
           if r.get("sme", "").lower() == "true"}
    health = {k for k, p in projects.items() if p.get("is_health") == "1"}
    east = {r["organisation_id"] for r in rows if r.get("nuts_code", "")[:4] in EAST}
    east_health = {r["project_id"] for r in rows if r["organisation_id"] in east and r["project_id"] in health}
    partners = {r["organisation_id"] for r in rows if r["project_id"] in east_health}
    keep = [r for r in rows if r["organisation_id"] in east
            or (r["organisation_id"] in partners and r["project_id"] in health)]
    for r in keep:
        r["sme"] = "true" if r["organisation_id"] in sme else "false"
    chosen = sorted({r["project_id"] for r in keep})
    out.mkdir(parents=True, exist_ok=True)
    write(out / "projects.csv.gz", [projects[p] for p in chosen], PROJECT_COLUMNS)
    write(out / "participants.csv.gz", keep, PARTICIPANT_COLUMNS)
    print(f"{len(east)} East-Netherlands organisations, {len(partners | east)} in all, "
          f"{len(chosen)} projects, {len(keep)} participations")
    texts = sorted({project_text(projects[p]["title"], projects[p]["objective"]) for p in chosen})
    hashes = [text_hash(x) for x in texts]
    vectors: dict[str, np.ndarray] = {}
    for enc in (USEEncoder(), MiniLMEncoder(), MiniLMEncoder("int8")):
        vectors[enc.model_id] = enc.encode_documents(texts, progress=None)
        print(f"embedded {len(texts)} texts with {enc.model_id}")
    write_demo_vectors(out / "vectors.npz", hashes, vectors)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
