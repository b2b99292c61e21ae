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

Without any name cue, a **small firm** (startup or SME) is a service firm when it is in many
consortia (at least :data:`MANY_CONSORTIA` pieces of evidence), its evidence is very broad (at
least :data:`VERY_BROAD` topics) *and* has no thread: no term rarer than :data:`RARE_TERM` of the
catalogue's documents recurs in half of its evidence (:func:`evidence_thread`). The thread is what
tells an R&D supplier from a project office: a photonics SME in 14 projects on telecom, radar and
cancer diagnostics is as broad as a project office, but "photonic" is in 12 of its 14 projects;
nothing recurs across a project office's. A large company is never a service firm by breadth
alone: a multinational's breadth says it is large, not what it does.

Universities, hospitals, care institutions and public bodies are never service firms (measured
on the demo catalogue, docs/CONSORTIUM.md).

>>> name_cue("EXAMPLE RESEARCH AND PROJECT OFFICE GMBH"), name_cue("Acme Services BV"), name_cue("Acme Sensors BV")
('strong', 'weak', '')
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

import numpy as np

STRONG = re.compile(
    r"consult|beratung|advis(?:or|ory|ers)\b|project\s*office|proje[ck]t\s*-?\s*management|projektmanagement"
    r"|research\s+management|innovation\s+(?:management|consult)|grants?\b|\bfunding\b|fundrais|disseminat"
    r"|public\s+relations|\bmarketing\b|\bstrateg(?:y|ies)\b|\btransfert\b|technolog\w*\s*transfer"
    r"|communications?\s+(?:agency|bureau|office)|\bcommunicatie"
    r"|\bipr\b|intellectual\s+property|patent\s*(?:attorneys?|anw)", re.I)
# "innovation", "agency" and "research" are left out: R&D institutes and public agencies use them as often
WEAK = re.compile(r"\bmanagement\b|\bservices?\b|diensten|dienstleistung|\bsupport\b|\boffice\b|\bmedia\b"
                  r"|\bcommunications?\b|\bpartners\b", re.I)
SERVICE_KINDS = frozenset({"startup", "sme", "large_company", "other", "research_institute"})
MIN_EVIDENCE = 4  # fewer pieces of evidence say nothing about breadth
BROAD_TOPICS = 3.0  # effective topics from which evidence counts as broad
SMALL_FIRM_KINDS = frozenset({"startup", "sme"})  # (or the SME flag): breadth alone may mark them
MANY_CONSORTIA = 8  # pieces of evidence from which breadth alone, without a name cue, may mark a small firm
VERY_BROAD = 4.0  # ... and the effective topics it needs then
RARE_TERM = 0.03  # a term in fewer than this share of the catalogue's documents says what a firm does
THREAD = 0.5  # share of its evidence a rare term must recur in to be the firm's thread


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


def evidence_thread(docs: Sequence[Collection[str]], frequency: Mapping[str, float], rare: float = RARE_TERM
                    ) -> float:
    """The share of an organisation's evidence that holds its most recurring rare term, in [0, 1].

    Args:
        docs: the terms (stemmed tokens) of each piece of evidence.
        frequency: each term's share of the catalogue's documents that hold it (missing: 0).
        rare: terms in fewer than this share of the catalogue's documents count.

    >>> evidence_thread([{"photon", "cancer"}, {"photon", "radar"}, {"lidar"}], {"cancer": 0.2})
    0.6666666666666666
    """
    counts = Counter(t for terms in docs for t in set(terms) if frequency.get(t, 0.0) < rare)
    return max(counts.values(), default=0) / len(docs) if docs else 0.0


def is_service_firm(name: str, kind: str, topics: float, n_evidence: int, *, sme: bool = False,
                    thread: float = 1.0) -> bool:
    """A strong name cue, a weak one with broad evidence, or (a small firm without any cue) very broad
    evidence from many consortia with no thread (see the module docstring).

    Args:
        topics: :func:`evidence_topics` of its evidence. n_evidence: how many pieces it has.
        sme: the SME flag. thread: :func:`evidence_thread` of its evidence (1.0 when unknown).
    """
    if kind not in SERVICE_KINDS:
        return False
    cue = name_cue(name)
    broad = n_evidence >= MIN_EVIDENCE and topics >= BROAD_TOPICS
    return cue == "strong" or (cue == "weak" and broad) or (
        small_firm(kind, sme) and n_evidence >= MANY_CONSORTIA and topics >= VERY_BROAD and thread < THREAD)


def small_firm(kind: str, sme: bool) -> bool:
    """A startup or SME (by kind, or by the SME flag on a company or other organisation)."""
    return kind in SMALL_FIRM_KINDS or (sme and kind in SERVICE_KINDS - {"research_institute"})


def random_pair_cosine(vectors: np.ndarray, pairs: int = 2000, seed: int = 0) -> float:
    """The mean cosine of random pairs of distinct rows of ``vectors`` (n, dim), n >= 2; else 0."""
    if len(vectors) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(vectors), pairs)
    b = (a + rng.integers(1, len(vectors), pairs)) % len(vectors)
    return float(np.einsum("ij,ij->i", vectors[a], vectors[b]).mean())


def needs_evidence(name: str, kind: str, sme: bool, n_evidence: int) -> bool:
    """Whether the evidence can decide (a weak name cue, or a small firm in many consortia without a
    strong cue): only then are its vectors and terms worth reading."""
    if kind not in SERVICE_KINDS:
        return False
    cue = name_cue(name)
    return (cue == "weak" and n_evidence >= MIN_EVIDENCE) or (
        cue == "" and small_firm(kind, sme) and n_evidence >= MANY_CONSORTIA)


def service_firms(names: Sequence[str], kinds: Sequence[str], evidence: Sequence[np.ndarray],
                  baseline: float, smes: Sequence[bool] | None = None,
                  threads: Sequence[float] | None = None) -> np.ndarray:
    """(n,) bool: which of the organisations are service firms, from names, kinds, evidence vectors and,
    when given, SME flags and evidence threads (:func:`evidence_thread`; 1.0 where unknown)."""
    smes = smes if smes is not None else [False] * len(names)
    threads = threads if threads is not None else [1.0] * len(names)
    return np.array([is_service_firm(name, kind, evidence_topics(vecs, baseline), len(vecs), sme=bool(sme),
                                     thread=thread)
                     for name, kind, vecs, sme, thread in zip(names, kinds, evidence, smes, threads)], dtype=bool)
