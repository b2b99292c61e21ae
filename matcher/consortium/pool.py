"""The candidate pool: the aspects of a call and every organisation any of its queries found.

``call text -> aspects (sentences) -> one query per aspect + one for the whole text + one per
rule that asks for particular partners (e.g. "SMEs established in the Netherlands"; the whole
text, filtered), embedded in one batch -> a pool of candidates with a relevance and a score per
aspect, each marked when it is a service firm``.

Scores are normalised per query by the whole text's best organisation score, or by
:data:`SCORE_FLOOR` when nobody reaches it (fused scores are sums of standardised scores, so the
floor means "about two standard deviations above the average retrieved document"). The rule
queries ask the same text as the whole-text query, so their scores share its normaliser: they
only add candidates that the unfiltered top-k cut off.

>>> split_aspects("We need a wearable ECG patch. A hospital must pilot it with heart patients.")
['We need a wearable ECG patch.', 'A hospital must pilot it with heart patients.']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from matcher.consortium.firms import evidence_thread, needs_evidence, random_pair_cosine, service_firms
from matcher.consortium.roles import CallRole, call_roles, fill_candidates, role_queries
from matcher.domain import Filters, Suggestion
from matcher.engine import MAX_K, Matcher, Query
from matcher.errors import InvalidInput
from matcher.rules import SME_KINDS, Instrument, Partner
from matcher.text import sentences, tokens, words

MAX_ASPECTS = 12
MIN_ASPECT_WORDS = 3
COVER = 0.5
SCORE_FLOOR = 2.0  # fused (zsum) score that counts as a full match even when no candidate reaches it
MAX_SIZE = 60
BASELINE_SAMPLE = 1000  # documents sampled for the random-pair cosine of a catalogue
MAX_FIRM_VERDICTS = 200_000  # service-firm verdicts kept with a catalogue (about 20 MB)


@dataclass
class Weights:
    """How a candidate is valued (chosen on the development split, docs/CONSORTIUM.md)."""

    relevance: float = 1.0
    coverage: float = 1.0
    kind: float = 0.1
    country: float = 0.05
    rules: float = 0.5
    role: float = 1.0  # a role filler's score for the role's need
    fill: float = 3.0  # per role of the call filled: more than one member's relevance, coverage and diversity


@dataclass
class Candidate:
    """One organisation in the pool: ``relevance`` and ``aspects`` (n_aspects,) are in [0, 1]."""

    partner: Partner
    relevance: float
    aspects: np.ndarray


@dataclass
class Pool:
    """The aspects of a call, every candidate any of its queries found (fixed members included), and the
    roles the call names with their candidates."""

    aspects: list[str]
    candidates: dict[int, Candidate]
    roles: list[CallRole] = field(default_factory=list)


def catalogue_of(matcher: Matcher) -> Any:
    """The matcher's in-memory catalogue (kinds, countries, SME flags, evidence links); the one
    place that knows where it lives."""
    if matcher.snapshot_ is None:
        raise InvalidInput("the matcher must be synced before building a consortium")
    return matcher.snapshot_.catalogue


def split_aspects(text: str, max_aspects: int = MAX_ASPECTS) -> list[str]:
    """The aspects of a call: its sentences with at least a few content words, at most ``max_aspects``.

    Longer texts have adjacent sentences joined into ``max_aspects`` groups of near-equal size.
    """
    parts = sentences(text)
    kept = [s for s in parts if len(words(s)) >= MIN_ASPECT_WORDS] or parts
    if len(kept) <= max_aspects:
        return kept
    bounds = np.linspace(0, len(kept), max_aspects + 1).round().astype(int)
    return [" ".join(kept[a:b]) for a, b in pairwise(bounds) if b > a]


def pool_size(size: int) -> int:
    """How many organisations each query contributes to the pool."""
    return min(MAX_K, max(50, 4 * size))


def rule_filters(instrument: Instrument, base: Filters | None = None) -> list[Filters]:
    """One filter per rule that asks for particular partners (kinds, countries, SMEs), within ``base``.

    A rule on SMEs asks twice, by kind (startup, SME) and by SME flag, as the rules count both.
    """
    base = base or Filters()
    out: list[Filters] = []
    for rule in instrument.rules:
        p = rule.params
        if rule.type in ("distinct_countries", "max_cost_share"):
            continue
        group = p.get("countries")
        countries = _meet(base.countries, sorted(group.codes) if group else [])
        sme = rule.type in ("min_smes", "sme_cost_share") or bool(p.get("sme"))
        kinds = _meet(base.kinds, list(p.get("kinds") or []))
        variants = [(_meet(kinds, sorted(SME_KINDS)), base.sme), (kinds, True)] if sme else [(kinds, base.sme)]
        for k, flag in variants:
            if k is None or countries is None or not (k or countries or flag):
                continue
            f = Filters(k, countries, list(base.nuts), flag, list(base.exclude_ids))
            if f not in out:
                out.append(f)
    return out


def _meet(a: list[str], b: list[str]) -> list[str] | None:
    """The intersection of two "empty means any" lists; None when it is empty but both restrict."""
    if not a or not b:
        return list(a or b)
    both = [x for x in b if x in set(a)]
    return both or None


def make_pool(matcher: Matcher, aspects: Sequence[str], rankings: Sequence[Sequence[Suggestion]],
              fixed: Sequence[int], extra: Sequence[Sequence[Suggestion]] = (), roles: Sequence[CallRole] = ()
              ) -> Pool:
    """A pool from the whole-text ranking (first), one ranking per aspect and the rule queries' rankings
    (``extra``, same text), and the roles' candidates (``roles``: relevance 0 unless the other queries
    found them too); kind, country and SME flag come from the matcher's in-memory catalogue, the
    service-firm mark from names and evidence (:mod:`matcher.consortium.firms`)."""
    if len(rankings) != len(aspects) + 1:
        raise InvalidInput("make_pool needs one ranking for the whole text and one per aspect")
    ids = sorted({s.organisation.id or 0 for r in [*rankings, *extra] for s in r} | set(fixed)
                 | {i for role in roles for i in role.candidates})
    col = {oid: i for i, oid in enumerate(ids)}
    table = np.zeros((len(rankings), len(ids)))
    for row, ranking in enumerate(rankings):
        best = max([SCORE_FLOOR, *(s.score for s in ranking)])
        for s in ranking:
            table[row, col[s.organisation.id or 0]] = max(s.score, 0.0) / best
        if row == 0:  # the rule queries ask the same text: same normaliser, best score kept
            for s in (s for r in extra for s in r):
                i = col[s.organisation.id or 0]
                table[0, i] = max(table[0, i], min(max(s.score, 0.0) / best, 1.0))
    cat = catalogue_of(matcher)
    pos = cat.org_index(ids)
    if len(pos) != len(ids):
        raise InvalidInput("some fixed organisations are not in the catalogue")
    service = find_service_firms(matcher, ids, pos)
    cands = {oid: Candidate(Partner(str(cat.kinds[p]), str(cat.countries[p]), bool(cat.sme[p]), id=oid,
                                    service=bool(service[i])), float(table[0, i]), table[1:, i].copy())
             for i, (oid, p) in enumerate(zip(ids, pos))}
    return Pool(list(aspects), cands, list(roles))


def find_service_firms(matcher: Matcher, ids: Sequence[int], pos: np.ndarray, cat: Any = None) -> np.ndarray:
    """(len(ids),) bool: which organisations (positions ``pos`` in ``cat``, the matcher's catalogue unless
    given) are service firms.

    A verdict depends on the catalogue only (name, kind, evidence), not on the question, so it is kept with the
    catalogue (``Catalogue.kept``; :data:`MAX_FIRM_VERDICTS` at most) and each organisation's evidence is read
    once. Evidence is read only where it can decide (:func:`matcher.consortium.firms.needs_evidence`): its
    vectors for the breadth, its terms (and their catalogue frequency, from the lexical index) for the thread.
    """
    cat = cat if cat is not None else catalogue_of(matcher)
    known = cat.kept.setdefault("service_firms", {})
    if len(known) > MAX_FIRM_VERDICTS:  # a catalogue of millions starts again rather than keep them all
        known.clear()
    todo = [k for k, oid in enumerate(ids) if int(oid) not in known]
    if todo:
        firms = _judge_firms(matcher, cat, [int(ids[k]) for k in todo], np.asarray(pos)[todo])
        known.update(zip((int(ids[k]) for k in todo), map(bool, firms)))
    return np.array([known[int(oid)] for oid in ids], dtype=bool)


def _judge_firms(matcher: Matcher, cat: Any, ids: Sequence[int], pos: np.ndarray) -> np.ndarray:
    """:func:`find_service_firms` without the kept verdicts."""
    orgs = matcher.store.get_organisations(list(ids))
    names = [orgs[i].name if i in orgs else "" for i in ids]
    kinds = [str(cat.kinds[p]) for p in pos]
    smes = [bool(cat.sme[p]) for p in pos]
    counts = [int(cat.org_start[p + 1] - cat.org_start[p]) for p in pos]
    docs = [cat.doc_ids[cat.org_docs(int(p))] if needs_evidence(name, kind, sme, n) else cat.doc_ids[:0]
            for name, kind, sme, n, p in zip(names, kinds, smes, counts, pos)]
    evidence = [np.zeros((n, 1)) for n in counts]  # counts only, unless read below
    threads = [1.0] * len(ids)
    wanted = sorted({int(d) for ds in docs for d in ds})
    if wanted:
        text_ids, vecs = matcher.store.text_vectors(matcher.encoder.model_id, wanted)
        row = {int(t): i for i, t in enumerate(text_ids)}
        terms = {i: set(tokens(text)) for i, (_hash, text) in matcher.store.texts(wanted).items()}
        vocab = sorted(set().union(*terms.values()))
        frequency = dict(zip(vocab, catalogue_lexical(matcher).document_frequency(vocab)))
        for k, ds in enumerate(docs):
            if len(ds):
                evidence[k] = vecs[[row[int(d)] for d in ds if int(d) in row]]
                threads[k] = evidence_thread([terms[int(d)] for d in ds if int(d) in terms], frequency)
    return service_firms(names, kinds, evidence, _baseline(matcher, cat) if wanted else 0.0, smes, threads)


def _baseline(matcher: Matcher, cat: Any) -> float:
    """The mean cosine of two random documents of the catalogue ``cat`` (kept with it)."""
    if "baseline" not in cat.kept:
        sample = np.random.default_rng(0).permutation(len(cat.doc_ids))[:BASELINE_SAMPLE]
        cat.kept["baseline"] = random_pair_cosine(
            matcher.store.text_vectors(matcher.encoder.model_id, cat.doc_ids[sample].tolist())[1])
    return float(cat.kept["baseline"])


def catalogue_lexical(matcher: Matcher) -> Any:
    """The matcher's lexical index (for term frequencies in the catalogue)."""
    catalogue_of(matcher)  # refuses an unsynced matcher
    return matcher.snapshot_.lexical  # type: ignore[union-attr]


def score_candidates(matcher: Matcher, text: str, size: int, fixed: Sequence[int] = (),
                     exclude: Sequence[int] = (), visible: tuple[str, ...] | None = None,
                     filters: Filters | None = None, instrument: Instrument | None = None) -> Pool:
    """Run the whole-text query, one query per aspect, one per rule filter and one per role the text names
    (:mod:`matcher.consortium.roles`, each with its role's pipeline) in one batch; pool the results."""
    aspects = split_aspects(text)
    f = filters or Filters()
    f = Filters(f.kinds, f.countries, f.nuts, f.sme, [*f.exclude_ids, *exclude])
    for oid in fixed:
        matcher.store.get_organisation(oid)  # NotFound for an unknown fixed member
    extra = rule_filters(instrument, f) if instrument is not None else []
    k = pool_size(size)
    asked = role_queries(call_roles(text), text, f, visible, extra)
    rankings = matcher.search_with([(Query(x, k, f, visible), matcher.pipeline) for x in [text, *aspects]]
                                   + [(Query(text, k, rf, visible), matcher.pipeline) for rf in extra]
                                   + [(q, p) for _role, q, p in asked])
    n, r = len(aspects) + 1, len(rankings) - len(asked)
    roles = fill_candidates(asked, rankings[r:], text.split(". ")[0], SCORE_FLOOR)
    return make_pool(matcher, aspects, rankings[:n], fixed, rankings[n:r], roles)
