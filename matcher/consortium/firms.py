"""Service firms: project-management, consulting, communication and dissemination companies.

They appear in many consortia, so their evidence matches many calls, but they do not perform
the R&D: they must never be proposed as the lead of an R&D project or as the SME that carries a
Eurostars or MIT project. They are recognised by general signals, never by a list of names:

- **the name**: a *strong* cue says the trade outright ("consulting", "Beratung", "project
  office", "research management", "dissemination", "public relations", "grants"); a *weak* cue
  ("management", "services", "support", "office", "media", "partners") only counts together with
- **broad evidence**: the organisation's evidence (its past projects) spreads over many unrelated
  topics. Breadth is the effective number of topics of its ``n`` evidence vectors,
  ``n / (1 + (n - 1) * rho)``, where ``rho`` is their mean pairwise cosine in excess of two random
  documents of the catalogue, rescaled to [0, 1] (``rho = 1``: one topic; ``rho = 0``: as spread as
  random documents, ``n`` topics).

Universities, hospitals, care institutions and public bodies are never service firms. Breadth
alone is not enough: an R&D company that supplies one technology to many health projects is as
broad as a project office (measured on the demo catalogue, docs/CONSORTIUM.md).

>>> name_cue("EXAMPLE RESEARCH AND PROJECT OFFICE GMBH"), name_cue("Acme Services BV"), name_cue("Acme Sensors BV")
('strong', 'weak', '')
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

STRONG = re.compile(
    r"consult|beratung|advis(?:or|ory|ers)\b|project\s*office|proje[ck]t\s*-?\s*management|projektmanagement"
    r"|research\s+management|innovation\s+(?:management|consult)|grants?\b|\bfunding\b|fundrais|disseminat"
    r"|public\s+relations|\bmarketing\b|\bstrateg(?:y|ies)\b|\btransfert\b|technolog\w*\s*transfer"
    r"|communications?\s+(?:agency|bureau|office)|\bcommunicatie", re.I)
# "innovation", "agency" and "research" are left out: R&D institutes and public agencies use them as often
WEAK = re.compile(r"\bmanagement\b|\bservices?\b|diensten|dienstleistung|\bsupport\b|\boffice\b|\bmedia\b"
                  r"|\bcommunications?\b|\bpartners\b", re.I)
SERVICE_KINDS = frozenset({"startup", "sme", "large_company", "other", "research_institute"})
MIN_EVIDENCE = 4  # fewer pieces of evidence say nothing about breadth
BROAD_TOPICS = 3.0  # effective topics from which evidence counts as broad


def name_cue(name: str) -> str:
    """``"strong"``, ``"weak"`` or ``""``: how clearly the name says the organisation sells services."""
    if STRONG.search(name):
        return "strong"
    return "weak" if WEAK.search(name) else ""


def evidence_topics(vectors: np.ndarray, baseline: float) -> float:
    """The effective number of topics of one organisation's evidence, (n, dim) unit rows -> [1, n].

    Args:
        vectors: the organisation's evidence vectors, L2-normalised.
        baseline: the mean cosine of two random documents of the catalogue.
    """
    n = len(vectors)
    if n < 2:
        return float(n)
    mean = vectors.mean(axis=0)
    pairwise = (n * n * float(mean @ mean) - n) / (n * (n - 1))
    rho = float(np.clip((pairwise - baseline) / max(1.0 - baseline, 1e-6), 0.0, 1.0))
    return n / (1.0 + (n - 1) * rho)


def is_service_firm(name: str, kind: str, topics: float, n_evidence: int) -> bool:
    """A strong name cue, or a weak one with broad evidence (see the module docstring)."""
    if kind not in SERVICE_KINDS:
        return False
    cue = name_cue(name)
    broad = n_evidence >= MIN_EVIDENCE and topics >= BROAD_TOPICS
    return cue == "strong" or (cue == "weak" and broad)


def random_pair_cosine(vectors: np.ndarray, pairs: int = 2000, seed: int = 0) -> float:
    """The mean cosine of random pairs of distinct rows of ``vectors`` (n, dim), n >= 2; else 0."""
    if len(vectors) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(vectors), pairs)
    b = (a + rng.integers(1, len(vectors), pairs)) % len(vectors)
    return float(np.einsum("ij,ij->i", vectors[a], vectors[b]).mean())


def service_firms(names: Sequence[str], kinds: Sequence[str], evidence: Sequence[np.ndarray],
                  baseline: float) -> np.ndarray:
    """(n,) bool: which of the organisations are service firms, from names, kinds and evidence vectors."""
    return np.array([is_service_firm(name, kind, evidence_topics(vecs, baseline), len(vecs))
                     for name, kind, vecs in zip(names, kinds, evidence)], dtype=bool)
