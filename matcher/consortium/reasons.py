"""Why: the rule that forced each member in, and the rule no team can meet, each in a sentence.

A member was *forced in* by a rule when the team chosen without rules (same size, same fixed
members, service firms left out) does not hold it, and replacing it by the best member of that
free team breaks the rule ("added to reach 50% R&D-performing SME cost"). A rule *cannot be met*
when no team of the asked size drawn from the candidates that match the call meets it alone; the
sentence says what the candidates lack ("only 1 R&D-performing SME in the Netherlands among the
212 organisations that match the call; 2 are needed").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matcher.consortium.pool import Pool, Weights
from matcher.consortium.solve import Problem, lead_allowed, solve
from matcher.rules import LEAD_TYPES, Instrument, Rule, check_team, counts, lead_requirement, purpose

SUPPORT = "project support (asked for): a service firm, not counted as performing the R&D"


def _restrictive(rule: Rule) -> bool:
    return any(rule.params.get(k) for k in ("sme", "rd_performing", "countries", "kinds"))


def forced_reasons(pool: Pool, instrument: Instrument, team: Sequence[int], fixed: Sequence[int] = (),
                   weights: Weights | None = None) -> dict[int, str]:
    """For each member that a rule forced in, the rule's purpose; members chosen on merit are left out."""
    free = solve(Problem(pool, len(team), (), fixed, lead=fixed[0] if fixed else None,
                         weights=weights or Weights())) or []
    spare = [pool.candidates[j].partner for j in free if j not in team]
    partners = {i: pool.candidates[i].partner for i in team}
    out: dict[int, str] = {}
    for at, i in enumerate(team):
        if i in fixed or i in free:
            continue
        if partners[i].service:
            out[i] = SUPPORT
            continue
        lead_rule = instrument.lead_rule
        if at == 0 and lead_rule is not None and _restrictive(lead_rule):
            out[i] = purpose(lead_rule)
            continue
        trial = [partners[k] for k in team if k != i] + spare[:1]
        before, after = check_team(instrument, [partners[k] for k in team]), check_team(instrument, trial)
        broken = [instrument.rules[k] for k, (b, a) in enumerate(zip(before, after))
                  if b.passed and not a.passed and instrument.rules[k].type not in LEAD_TYPES]
        if broken:
            out[i] = purpose(broken[0])
    return out


def unmet_rules(problem: Problem, instrument: Instrument) -> list[tuple[str, str]]:
    """(rule id, why) for each rule that no team of the problem's size meets on its own; if each can be
    met alone, one entry (rule id "") saying they cannot all be met together."""
    out = []
    lead_rules = [r for r in instrument.rules if r.type in LEAD_TYPES]
    for rule in instrument.rules:
        rules = [rule] if rule.type in LEAD_TYPES else [rule, *[r for r in lead_rules if problem.lead is None]]
        alone = Problem(problem.pool, problem.size, rules, problem.fixed, problem.exclude, problem.lead,
                        problem.support, problem.weights)
        if solve(alone) is None:
            out.append((rule.id, why_unmet(rule, alone)))
    if not out:
        ids = ", ".join(r.id for r in instrument.rules)
        out.append(("", f"each rule can be met on its own, but no team of {problem.size} from the "
                        f"{len(problem.ids())} organisations that match the call meets all of them ({ids})"))
    return out


def why_unmet(rule: Rule, problem: Problem) -> str:
    """What the candidates lack for ``rule`` (the problem's candidates, size and fixed lead)."""
    ids = problem.ids()
    partners = [problem.pool.candidates[i].partner for i in ids]
    among = f"among the {len(ids)} organisations that match the call"
    group = rule.params.get("countries")
    n = min(problem.size, len(ids))
    if rule.type in LEAD_TYPES:
        if problem.lead is not None:
            lead = problem.pool.candidates[problem.lead].partner
            return f"the fixed lead ({lead.name or lead.label}) is not {lead_requirement(rule)}"
        have = sum(lead_allowed([rule], p) for p in partners)
        return f"no {lead_requirement(rule).split(' ', 1)[1]} {among} can lead (found {have})"
    if rule.type == "distinct_countries":
        found = sorted({p.country for p in partners} & group.codes)
        return (f"the organisations that match the call come from {len(found)} different {group.name}"
                f"{'s' if len(found) != 1 else ''} ({', '.join(found) or 'none'}); {rule.params['count']} are needed")
    if rule.type == "max_cost_share":
        cap = float(rule.params["max_share"])
        return (f"a team of {n} cannot keep each {rule.params['by']} at or below {cap:.0%} of the cost "
                f"with the organisations that match the call (a team needs at least {math.ceil(1 / cap)} partners)")
    need = (math.ceil(float(rule.params["min_share"]) * n - 1e-9) if rule.type == "sme_cost_share"
            else int(rule.params["count"]))
    have = sum(counts(rule, p) for p in partners)
    return f"only {have} {_what(rule, have)} {among}; {need} {'is' if need == 1 else 'are'} needed"


def _what(rule: Rule, n: int) -> str:
    group = rule.params.get("countries")
    where = f" established in {group.name}" if group else ""
    rd = "R&D-performing " if rule.params.get("rd_performing") else ""
    if rule.type in ("min_smes", "sme_cost_share"):
        return f"{rd}SME{'s' if n != 1 else ''}{where}"
    if rule.type == "min_kinds":
        return f"{rule.params['label']}{'s' if n != 1 else ''}"
    return f"organisation{'s' if n != 1 else ''}{where}"

