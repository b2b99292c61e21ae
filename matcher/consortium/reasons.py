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
from matcher.messages import Message
from matcher.rules import LEAD_TYPES, Instrument, Rule, check_team, counts, lead_requirement, purpose
from matcher.rules.checks import BY_WORDS

SUPPORT = Message("project support (asked for): a service firm, not counted as performing the R&D")


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
        out.append(("", Message("each rule can be met on its own, but no team of {size} from the {n} organisations "
                                "that match the call meets all of them ({ids})", size=problem.size,
                                n=len(problem.ids()), ids=ids)))
    return out


def why_unmet(rule: Rule, problem: Problem) -> str:
    """What the candidates lack for ``rule`` (the problem's candidates, size and fixed lead)."""
    ids = problem.ids()
    partners = [problem.pool.candidates[i].partner for i in ids]
    group = rule.params.get("countries")
    n = min(problem.size, len(ids))
    if rule.type in LEAD_TYPES:
        if problem.lead is not None:
            lead = problem.pool.candidates[problem.lead].partner
            return Message("the fixed lead ({lead}) is not {who}", lead=lead.name or lead.label,
                           who=lead_requirement(rule))
        have = sum(lead_allowed([rule], p) for p in partners)
        return Message("no {who} among the {n} organisations that match the call can lead (found {have})",
                       who=lead_requirement(rule, article=False), n=len(ids), have=have)
    if rule.type == "distinct_countries":
        found = sorted({p.country for p in partners} & group.codes)
        parts = {"n": len(found), "group": group.name, "found": ", ".join(found) or Message("none"),
                 "need": rule.params["count"]}
        if len(found) == 1:
            return Message("the organisations that match the call come from {n} different {group} ({found}); {need} "
                           "are needed", **parts)
        return Message("the organisations that match the call come from {n} different {group}s ({found}); {need} "
                       "are needed", **parts)
    if rule.type == "max_cost_share":
        by = str(rule.params["by"])
        return Message("a team of {n} cannot keep each {by} at or below {cap:.0%} of the cost with the organisations "
                       "that match the call (a team needs at least {least} partners)", n=n,
                       by=BY_WORDS.get(by, by), cap=float(rule.params["max_share"]),
                       least=math.ceil(1 / float(rule.params["max_share"])))
    need = (math.ceil(float(rule.params["min_share"]) * n - 1e-9) if rule.type == "sme_cost_share"
            else int(rule.params["count"]))
    have = sum(counts(rule, p) for p in partners)
    if need == 1:
        return Message("only {have} {what} among the {n} organisations that match the call; {need} is needed",
                       have=have, what=_what(rule, have), n=len(ids), need=need)
    return Message("only {have} {what} among the {n} organisations that match the call; {need} are needed",
                   have=have, what=_what(rule, have), n=len(ids), need=need)


_NOUNS = {  # (rd_performing, plural)
    (True, False): Message("R&D-performing SME"), (True, True): Message("R&D-performing SMEs"),
    (False, False): Message("SME"), (False, True): Message("SMEs"),
}


def _what(rule: Rule, n: int) -> str:
    group = rule.params.get("countries")
    if rule.type in ("min_smes", "sme_cost_share"):
        what = _NOUNS[bool(rule.params.get("rd_performing")), n != 1]
    elif rule.type == "min_kinds":
        label = rule.params["label"]
        return label if n == 1 else Message("{label}s", label=label)
    else:
        what = Message("organisation") if n == 1 else Message("organisations")
    return Message("{what} established in {group}", what=what, group=group.name) if group else what
