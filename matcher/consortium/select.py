"""Choosing a team: the solver first (rules as constraints), the greedy team as the fallback.

When no team meets every rule, the rules that cannot be met are named with the reason
(:func:`matcher.consortium.reasons.unmet_rules`), and the best team that meets the others is
proposed, so the report shows what is missing rather than nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from matcher.consortium.greedy import _check_ids, choose_team
from matcher.consortium.pool import Pool, Weights
from matcher.consortium.reasons import unmet_rules
from matcher.consortium.solve import TIME_LIMIT, Problem, solve
from matcher.errors import InvalidInput
from matcher.rules import Instrument


@dataclass
class Selection:
    """A chosen team (lead first), how it was chosen, and the rules it cannot meet with why."""

    team: list[int]
    method: str  # "solver" or "greedy"
    unmet: list[tuple[str, str]] = field(default_factory=list)


def select_team(pool: Pool, instrument: Instrument, size: int, fixed: Sequence[int] = (),
                exclude: Sequence[int] = (), weights: Weights | None = None, support: bool = False,
                time_limit: float = TIME_LIMIT) -> Selection:
    """The best team of ``size`` that meets the instrument's rules (the first fixed member leads).

    Service firms are left out unless fixed, or unless ``support`` asks for one "project support"
    member; they never lead.
    """
    _check_ids(fixed, exclude)
    fixed = list(dict.fromkeys(fixed))
    problem = Problem(pool, size, instrument.rules, fixed, exclude, fixed[0] if fixed else None, support,
                      weights or Weights())
    return _select(problem, instrument, time_limit)


def _select(problem: Problem, instrument: Instrument, time_limit: float) -> Selection:
    team = solve(problem, time_limit)
    if team is not None:
        return Selection(team, "solver")
    unmet = unmet_rules(problem, instrument)
    failing = {rule_id for rule_id, _why in unmet}
    rest = [r for r in instrument.rules if r.id not in failing]
    team = solve(Problem(problem.pool, problem.size, rest, problem.fixed, problem.exclude, problem.lead,
                         problem.support, problem.weights), time_limit)
    if team is not None:
        return Selection(team, "solver", unmet)
    service = [i for i, c in problem.pool.candidates.items() if c.partner.service and i not in problem.fixed]
    banned = [*problem.exclude, *([] if problem.support else service)]
    greedy = choose_team(problem.pool, instrument, problem.size, problem.fixed, banned, problem.weights)
    return Selection(greedy, "greedy", unmet)


def swap_team(pool: Pool, instrument: Instrument, team: Sequence[int], remove: int, fixed: Sequence[int] = (),
              exclude: Sequence[int] = (), weights: Weights | None = None, support: bool = False,
              time_limit: float = TIME_LIMIT) -> Selection:
    """``team`` with ``remove`` replaced, in place, by the best candidate that keeps the rules met
    (``remove`` is never re-chosen; the other members stay where they are)."""
    if remove not in team:
        raise InvalidInput(f"organisation {remove} is not a member of this team")
    if remove in fixed:
        raise InvalidInput(f"organisation {remove} is a fixed member and cannot be swapped")
    kept = [i for i in team if i != remove]
    lead = team[0] if team[0] != remove else None
    problem = Problem(pool, len(team), instrument.rules, kept, [*exclude, remove], lead,
                      support or any(pool.candidates[i].partner.service for i in kept), weights or Weights())
    chosen = _select(problem, instrument, time_limit)
    new = [i for i in chosen.team if i not in kept]
    at = list(team).index(remove)
    out = kept[:at] + new[:1] + kept[at:]
    if lead is None and chosen.team and chosen.team[0] in out:  # the lead was swapped out: the solver's lead leads
        out.remove(chosen.team[0])
        out.insert(0, chosen.team[0])
    return Selection(out, chosen.method, chosen.unmet)
