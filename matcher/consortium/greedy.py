"""The greedy choice: the fallback when the solver finds no team in time, and the swap's old rule.

Starting from the fixed members, add the candidate with the largest gain::

    gain = w.relevance * relevance + w.coverage * mean_j max(0, aspect_j - covered_j)
         + w.kind * (new kind) + w.country * (new country) + w.rules * (rule shortfall removed)

and, when a rule needs as many partners as there are places left, only candidates that help that
rule are considered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matcher.consortium.pool import MAX_SIZE, Pool, Weights
from matcher.errors import InvalidInput
from matcher.messages import Message
from matcher.rules import Instrument, Partner, check_team


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
        raise InvalidInput(Message("size: {instrument} needs at least {n} partners", instrument=instrument.name,
                                   n=instrument.min_size))
    if instrument.max_size is not None and size > instrument.max_size:
        raise InvalidInput(Message("size: {instrument} allows at most {n} partners", instrument=instrument.name,
                                   n=instrument.max_size))
    if not n_fixed <= size <= MAX_SIZE:
        raise InvalidInput(Message("size: must be between the number of fixed members ({n}) and {most}", n=n_fixed,
                                   most=MAX_SIZE))
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


