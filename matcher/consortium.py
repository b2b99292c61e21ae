"""The consortium builder: a team that covers the aspects of a call and passes the instrument's rules.

``call text -> aspects (sentences) -> one query per aspect + one for the whole text
(embedded in one batch) -> a pool of candidates with a relevance and a score per
aspect -> greedy choice -> roles, uncovered aspects, rule check``.

Scores are normalised per query by the best organisation's score, or by
:data:`SCORE_FLOOR` when nobody reaches it (fused scores are sums of standardised
scores, so the floor means "about two standard deviations above the average retrieved
document"). An aspect is *covered* by a member whose normalised score on it is at least
:data:`COVER`: half the best candidate's score and at least one standard deviation.
The greedy step adds the candidate with the largest gain::

    gain = w.relevance * relevance + w.coverage * mean_j max(0, aspect_j - covered_j)
         + w.kind * (new kind) + w.country * (new country) + w.rules * (rule shortfall removed)

and, when a rule needs as many partners as there are places left, only candidates that
help that rule are considered, so a valid team is found whenever the pool holds one.

>>> split_aspects("We need a wearable ECG patch. A hospital must pilot it with heart patients.")
['We need a wearable ECG patch.', 'A hospital must pilot it with heart patients.']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from matcher.domain import Filters, Organisation, Suggestion
from matcher.engine import MAX_K, Matcher, Query
from matcher.errors import InvalidInput
from matcher.rules import Instrument, Partner, RuleResult, check_team, is_eligible
from matcher.text import sentences, words

MAX_ASPECTS = 12
MIN_ASPECT_WORDS = 3
COVER = 0.5
SCORE_FLOOR = 2.0  # fused (zsum) score that counts as a full match even when no candidate reaches it
MAX_SIZE = 60


@dataclass
class Weights:
    """How the greedy step values a candidate (chosen on the development split, docs/CONSORTIUM.md)."""

    relevance: float = 1.0
    coverage: float = 1.0
    kind: float = 0.1
    country: float = 0.05
    rules: float = 0.5


@dataclass
class Candidate:
    """One organisation in the pool: ``relevance`` and ``aspects`` (n_aspects,) are in [0, 1]."""

    partner: Partner
    relevance: float
    aspects: np.ndarray


@dataclass
class Pool:
    """The aspects of a call and every candidate any of its queries found (fixed members included)."""

    aspects: list[str]
    candidates: dict[int, Candidate]


@dataclass
class Member:
    """A chosen organisation, its role in words and the aspects it is responsible for."""

    organisation: Organisation
    role: str
    aspects: list[str]
    fixed: bool
    relevance: float


@dataclass
class Consortium:
    """A proposed team with its eligibility report."""

    instrument: Instrument
    aspects: list[str]
    members: list[Member]
    uncovered: list[str]
    rules: list[RuleResult]
    eligible: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``matcher consortium --json`` and ``POST /v1/consortium``."""
        return {
            "members": [{"organisation": _org_dict(m.organisation), "role": m.role, "aspects": m.aspects,
                         "fixed": m.fixed, "relevance": round(m.relevance, 4)} for m in self.members],
            "uncovered": self.uncovered,
            "rules": [r.to_dict() for r in self.rules],
            "eligible": self.eligible,
            "instrument": {"id": self.instrument.id, "name": self.instrument.name, "source": self.instrument.source},
            "aspects": self.aspects,
            "coverage": round(1 - len(self.uncovered) / max(len(self.aspects), 1), 4),
        }


def _org_dict(o: Organisation) -> dict[str, Any]:
    return o.summary_dict()


# ---- aspects and the candidate pool ----------------------------------------------------------
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


def make_pool(matcher: Matcher, aspects: Sequence[str], rankings: Sequence[Sequence[Suggestion]],
              fixed: Sequence[int]) -> Pool:
    """A pool from the whole-text ranking (first) and one ranking per aspect; kind, country and SME
    flag come from the matcher's in-memory catalogue, so unexplained rankings work too."""
    if len(rankings) != len(aspects) + 1:
        raise InvalidInput("make_pool needs one ranking for the whole text and one per aspect")
    ids = sorted({s.organisation.id or 0 for r in rankings for s in r} | set(fixed))
    col = {oid: i for i, oid in enumerate(ids)}
    table = np.zeros((len(rankings), len(ids)))
    for row, ranking in enumerate(rankings):
        best = max([SCORE_FLOOR, *(s.score for s in ranking)])
        for s in ranking:
            table[row, col[s.organisation.id or 0]] = max(s.score, 0.0) / best
    cat = matcher.catalogue_
    assert cat is not None, "the matcher must be synced"
    pos = cat.org_index(ids)
    if len(pos) != len(ids):
        raise InvalidInput("some fixed organisations are not in the catalogue")
    cands = {oid: Candidate(Partner(str(cat.kinds[p]), str(cat.countries[p]), bool(cat.sme[p]), id=oid),
                            float(table[0, i]), table[1:, i].copy()) for i, (oid, p) in enumerate(zip(ids, pos))}
    return Pool(list(aspects), cands)


def score_candidates(matcher: Matcher, text: str, size: int, fixed: Sequence[int] = (),
                     exclude: Sequence[int] = (), visible: tuple[str, ...] | None = None,
                     filters: Filters | None = None) -> Pool:
    """Run the whole-text query and one query per aspect in one batch and pool the results."""
    aspects = split_aspects(text)
    f = filters or Filters()
    f = Filters(f.kinds, f.countries, f.nuts, f.sme, [*f.exclude_ids, *exclude])
    for oid in fixed:
        matcher.store.get_organisation(oid)  # NotFound for an unknown fixed member
    rankings = matcher.search_batch([Query(x, pool_size(size), f, visible) for x in [text, *aspects]])
    return make_pool(matcher, aspects, rankings, fixed)


# ---- choosing -------------------------------------------------------------------------------
def _team(pool: Pool, ids: Sequence[int]) -> list[Partner]:
    return [pool.candidates[i].partner for i in ids]


def _coverage(pool: Pool, ids: Sequence[int]) -> np.ndarray:
    cur = np.zeros(len(pool.aspects))
    for i in ids:
        cur = np.maximum(cur, pool.candidates[i].aspects)
    return cur


def _best_addition(pool: Pool, instrument: Instrument, team: list[int], banned: set[int], slots: int,
                   w: Weights) -> int | None:
    """The candidate with the largest gain; only rule-helping ones when a rule needs every place left."""
    base = check_team(instrument, _team(pool, team))
    forced = [k for k, r in enumerate(base) if r.shortfall >= slots]
    cur = _coverage(pool, team)
    kinds = {pool.candidates[i].partner.kind for i in team}
    countries = {pool.candidates[i].partner.country for i in team}
    scored: list[tuple[float, bool, int]] = []
    for oid, c in pool.candidates.items():
        if oid in banned or oid in team:
            continue
        after = check_team(instrument, _team(pool, team) + [c.partner])
        helps = all(after[k].shortfall < base[k].shortfall for k in forced)
        progress = sum(b.shortfall - a.shortfall for b, a in zip(base, after))
        gain = (w.relevance * c.relevance
                + w.coverage * float(np.maximum(c.aspects - cur, 0).mean() if len(cur) else 0.0)
                + w.kind * (c.partner.kind not in kinds) + w.country * (c.partner.country not in countries)
                + w.rules * progress)
        scored.append((gain, helps, oid))
    if not scored:
        return None
    pick = max(scored, key=lambda x: (x[1], x[0], -x[2]))  # helping a forced rule first, then gain
    return pick[2]


def target_size(instrument: Instrument, size: int | None, n_fixed: int) -> int:
    """The team size: ``size`` if given (checked against the instrument's limits), else its default."""
    if size is None:
        return min(MAX_SIZE, max(instrument.default_size, instrument.min_size, n_fixed))
    if size < instrument.min_size:
        raise InvalidInput(f"size: {instrument.name} needs at least {instrument.min_size} partners")
    if instrument.max_size is not None and size > instrument.max_size:
        raise InvalidInput(f"size: {instrument.name} allows at most {instrument.max_size} partners")
    if not n_fixed <= size <= MAX_SIZE:
        raise InvalidInput(f"size: must be between the number of fixed members ({n_fixed}) and {MAX_SIZE}")
    return size


def choose_team(pool: Pool, instrument: Instrument, size: int, fixed: Sequence[int] = (),
                exclude: Sequence[int] = (), weights: Weights | None = None) -> list[int]:
    """Organisation ids of a team of ``size``: the fixed members first, then greedy additions."""
    _check_ids(fixed, exclude)
    team = list(dict.fromkeys(fixed))
    banned = set(exclude)
    while len(team) < size:
        pick = _best_addition(pool, instrument, team, banned, size - len(team), weights or Weights())
        if pick is None:
            break
        team.append(pick)
    return team


def swap(pool: Pool, instrument: Instrument, team: Sequence[int], remove: int, fixed: Sequence[int] = (),
         exclude: Sequence[int] = (), weights: Weights | None = None) -> list[int]:
    """``team`` with ``remove`` replaced, in place, by the next-best candidate (``remove`` is never re-chosen)."""
    if remove not in team:
        raise InvalidInput(f"organisation {remove} is not a member of this team")
    if remove in fixed:
        raise InvalidInput(f"organisation {remove} is a fixed member and cannot be swapped")
    rest = [i for i in team if i != remove]
    pick = _best_addition(pool, instrument, rest, {*exclude, remove}, 1, weights or Weights())
    at = list(team).index(remove)
    return rest[:at] + ([pick] if pick is not None else []) + rest[at:]


def _check_ids(fixed: Sequence[int], exclude: Sequence[int]) -> None:
    both = sorted(set(fixed) & set(exclude))
    if both:
        raise InvalidInput(f"organisation {both[0]} is both fixed and excluded")


# ---- describing -----------------------------------------------------------------------------
def _label(aspect: str, n_words: int = 12) -> str:
    parts = aspect.split()
    return " ".join(parts[:n_words]).rstrip(".,;:") + ("…" if len(parts) > n_words else "")


def responsibilities(pool: Pool, team: Sequence[int]) -> tuple[dict[int, list[int]], list[int]]:
    """Aspect indices each member is responsible for (it scores best in the team and covers it), and
    the indices no member covers."""
    owned: dict[int, list[int]] = {i: [] for i in team}
    uncovered = []
    for j in range(len(pool.aspects)):
        best = max(team, key=lambda i: (pool.candidates[i].aspects[j], -team.index(i)), default=None)
        if best is None or pool.candidates[best].aspects[j] < COVER:
            uncovered.append(j)
        else:
            owned[best].append(j)
    return owned, uncovered


def _role(org: Organisation, position: int, fixed: bool, labels: list[str]) -> str:
    who = "coordinator" if position == 0 else "partner"
    head = f"{who}{' (fixed)' if fixed else ''}, {org.kind.replace('_', ' ')} from {org.country or '?'}"
    if not labels:
        return f"{head}: relevant to the call as a whole, no aspect of its own"
    return f"{head}: {'; '.join(labels)}"


def describe(matcher: Matcher, pool: Pool, instrument: Instrument, team: Sequence[int],
             fixed: Sequence[int] = ()) -> Consortium:
    """The consortium report: members with roles and aspects, uncovered aspects, rules, eligibility."""
    team = list(team)
    orgs = matcher.store.get_organisations(team)
    owned, uncovered = responsibilities(pool, team)
    members = [Member(orgs[i], _role(orgs[i], n, i in fixed, [_label(pool.aspects[j]) for j in owned[i]]),
                      [pool.aspects[j] for j in owned[i]], i in fixed, pool.candidates[i].relevance)
               for n, i in enumerate(team)]
    partners = [Partner(o.organisation.kind, o.organisation.country, o.organisation.sme,
                        name=o.organisation.name, id=o.organisation.id) for o in members]
    results = check_team(instrument, partners)
    return Consortium(instrument, pool.aspects, members, [pool.aspects[j] for j in uncovered], results,
                      is_eligible(results))


def build_consortium(matcher: Matcher, text: str, instrument: Instrument, fixed: Sequence[int] = (),
                     size: int | None = None, exclude: Sequence[int] = (), visible: tuple[str, ...] | None = None,
                     filters: Filters | None = None, swaps: Sequence[int] = (),
                     weights: Weights | None = None) -> Consortium:
    """Propose a team for ``text`` under ``instrument``, then swap out each of ``swaps`` in turn.

    Args:
        fixed: organisations always in the team, the first one leading it (e.g. the startup itself).
        size: team size including the fixed members (default: the instrument's default size).
        exclude: organisations never proposed. visible: visibility levels the caller may see.
        swaps: members to replace by the next-best candidate, in order; a swapped-out
            organisation is not proposed again.
    """
    _check_ids(fixed, exclude)
    n = target_size(instrument, size, len(set(fixed)))
    pool = score_candidates(matcher, text, n, fixed, exclude, visible, filters)
    team = choose_team(pool, instrument, n, fixed, exclude, weights)
    banned = list(exclude)
    for out in swaps:
        team = swap(pool, instrument, team, out, fixed, banned, weights)
        banned.append(out)
    return describe(matcher, pool, instrument, team, fixed)


def swap_member(matcher: Matcher, text: str, instrument: Instrument, members: Sequence[int], remove: int,
                fixed: Sequence[int] = (), exclude: Sequence[int] = (), visible: tuple[str, ...] | None = None,
                filters: Filters | None = None, weights: Weights | None = None) -> Consortium:
    """Re-check a given team (``members``, lead first) after replacing ``remove`` by the next-best candidate."""
    _check_ids(fixed, exclude)
    members = list(dict.fromkeys(members))
    if not set(fixed) <= set(members):
        raise InvalidInput("every fixed organisation must be among the members")
    pool = score_candidates(matcher, text, len(members), members, exclude, visible, filters)
    return describe(matcher, pool, instrument, swap(pool, instrument, members, remove, fixed, exclude, weights),
                    fixed)
