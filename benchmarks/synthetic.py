"""A synthetic CORDIS catalogue of any size, drawn from a real one: for tests of scale, never of quality.

How it is drawn (``--source`` is a real CORDIS folder, by default the whole-programme one):

- **Organisations.** Synthetic organisation k copies the attributes of real organisation
  ``k mod n_real`` (name with a replica number, activity type, SME flag, country, city, NUTS), so
  kinds and countries keep their real joint proportions, and so does the name-based kind
  (hospitals are found by name).
- **Projects.** The number of projects keeps the real ratio of projects to organisations.
  Synthetic project j copies real project ``j mod n_proj``: its dates, funding scheme and
  consortium size. Its title and objective are the real ones with about 10% of the longer words
  replaced by words drawn from the real objectives' vocabulary by frequency, so every text is
  distinct, the vocabulary and its Zipf curve stay real, and each text stays on its original topic.
  Replica 0 is the real catalogue itself, unchanged.
- **Collaboration graph.** A participation (real project p, real organisation o) in project replica
  r goes to replica ``r mod m_o`` of o (``m_o`` = the replicas of o that exist) with probability
  0.8 and to a random replica of o otherwise. Each organisation keeps about its real number of
  projects, each on its real topics, consortia keep their real sizes and mixes of kinds, and the
  replicas are linked into one graph instead of falling apart into copies.

    .venv/bin/python benchmarks/synthetic.py --organisations 100000 --out var/synthetic/100k
    .venv/bin/python benchmarks/synthetic.py --organisations 1000000 --out var/synthetic/1m

writes ``projects.csv.gz`` and ``participants.csv.gz`` (the columns ``matcher import cordis``
reads), then prints what it wrote as JSON. Replicas of organisations with one or two real projects
may draw no project and then do not exist, so the generator asks for proportionally more when the
first draw falls more than 2% short of ``--organisations``; the projects scale with what was asked.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PROJECT_COLUMNS = ["project_id", "acronym", "title", "objective", "start_date", "end_date", "funding_scheme"]
PARTICIPANT_COLUMNS = ["project_id", "organisation_id", "name", "activity_type", "sme", "role", "country",
                       "city", "nuts_code"]
STAY = 0.8  # a participation stays within its replica with this probability
REPLACE = 0.10  # share of the longer words of a copied text replaced from the vocabulary
_WORD = re.compile(r"[A-Za-z][a-z]{3,}")


def _read(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


class Vocabulary:
    """Words of four letters or more from the real texts, drawn by their frequency (in blocks, for speed)."""

    def __init__(self, texts: list[str], rng: np.random.Generator) -> None:
        counts = Counter(w for x in texts for w in _WORD.findall(x))
        self.words = np.array(list(counts))
        p = np.array(list(counts.values()), dtype=np.float64)
        self.p = p / p.sum()
        self.rng = rng
        self._block: list[str] = []

    def draw(self) -> str:
        if not self._block:
            self._block = list(self.rng.choice(self.words, size=200_000, p=self.p))
        return self._block.pop()


def perturbed(text: str, vocab: Vocabulary, rng: np.random.Generator) -> str:
    """``text`` with about :data:`REPLACE` of its longer words replaced by vocabulary words."""
    tokens = text.split(" ")
    for i in np.flatnonzero(rng.random(len(tokens)) < REPLACE):
        if _WORD.fullmatch(tokens[i]):
            tokens[i] = vocab.draw()
    return " ".join(tokens)


def generate(source: Path, n_orgs: int, out: Path, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    projects = _read(source / "projects.csv.gz")
    participants = _read(source / "participants.csv.gz")
    orgs: dict[str, dict[str, str]] = {}
    for r in participants:  # the attributes of each organisation's last listed participation
        orgs[r["organisation_id"]] = r
    real_orgs = sorted(orgs)
    index_of = {pic: i for i, pic in enumerate(real_orgs)}
    n_real, n_proj = len(real_orgs), len(projects)
    n_projects = max(1, round(n_proj * n_orgs / n_real))
    replicas = np.array([(n_orgs - i + n_real - 1) // n_real for i in range(n_real)])  # m_o: replicas of o
    members: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in participants:
        members[r["project_id"]].append(r)
    vocab = Vocabulary([p["objective"] for p in projects], rng)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_part, used = 0, set()
    with gzip.open(out / "projects.csv.gz", "wt", encoding="utf-8", newline="", compresslevel=3) as pf, \
            gzip.open(out / "participants.csv.gz", "wt", encoding="utf-8", newline="", compresslevel=3) as af:
        pw, aw = csv.DictWriter(pf, PROJECT_COLUMNS), csv.DictWriter(af, PARTICIPANT_COLUMNS)
        pw.writeheader()
        aw.writeheader()
        for j in range(n_projects):
            real, rep = projects[j % n_proj], j // n_proj
            pid = real["project_id"] if rep == 0 else f"S{rep}-{real['project_id']}"
            title, objective = real["title"], real["objective"]
            if rep:
                title, objective = perturbed(title, vocab, rng), perturbed(objective, vocab, rng)
            pw.writerow({"project_id": pid, "acronym": real.get("acronym", ""), "title": title,
                         "objective": objective, "start_date": real["start_date"],
                         "end_date": real.get("end_date", ""), "funding_scheme": real.get("funding_scheme", "")})
            for m in members[real["project_id"]]:
                o = index_of[m["organisation_id"]]
                k = int(replicas[o])
                if k == 0:  # a catalogue smaller than the real one keeps only its first n_orgs organisations
                    continue
                r = rep % k if rng.random() < STAY else int(rng.integers(k))
                a = orgs[m["organisation_id"]]
                oid = m["organisation_id"] if r == 0 else f"S{r}-{m['organisation_id']}"
                used.add(oid)
                aw.writerow({"project_id": pid, "organisation_id": oid,
                             "name": a["name"] if r == 0 else f"{a['name']} {r}",
                             "activity_type": a["activity_type"], "sme": a.get("sme", ""), "role": m["role"],
                             "country": a.get("country", ""), "city": a.get("city", ""),
                             "nuts_code": a.get("nuts_code", "")})
                n_part += 1
    return {"organisations": len(used), "organisations_asked": n_orgs, "projects": n_projects,
            "participations": n_part, "source": str(source), "seconds": round(time.perf_counter() - t0, 1),
            "out": str(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--organisations", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "cordis_he_all")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    report = generate(a.source, a.organisations, a.out, a.seed)
    used = int(report["organisations"])  # type: ignore[call-overload]
    if used < 0.98 * a.organisations:  # some replicas of rarely seen organisations drew no project: ask for more
        report = generate(a.source, round(a.organisations * a.organisations / used), a.out, a.seed)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
