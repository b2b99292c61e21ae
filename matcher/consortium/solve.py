"""The team as a mixed-integer programme: the instrument's rules are constraints of the choice.

Variables: ``x_i`` (candidate i is in the team), ``l_i`` (i leads), ``z_ij`` in [0, 1] (i answers
aspect j; at most one per aspect, only members), ``g_k``/``h_c`` (kind k / country c present) and,
per ``distinct_countries`` rule, ``u_c`` (country c counted). Maximise::

    w.relevance * sum_i rel_i x_i + w.coverage * mean_j sum_i a_ij z_ij + w.kind * sum_k g_k
    + w.country * sum_c h_c + LEAD_BONUS * sum_i rel_i l_i
    + w.fill * sum_r f_r + w.role * sum_ir s_ir y_ir

where, per role r the call names, ``f_r`` (the role is filled) is ``sum_i y_ir`` over its candidates
(``s_ir``: i's score for the role's need), each member filling at most one role (``sum_r y_ir <=
x_i``). ``w.fill`` (3.0) is more than any one member adds otherwise (at most about 2.2), so the
roles are filled first and a role stays empty only when the rules need its place or nobody in the
pool fits it; then the rest of the team is chosen for relevance and coverage.

Subject to the team size, the fixed members, one lead whom the lead rule allows (never a service
firm), no service firm unless a "project support" member is asked for (then exactly one), and one
linear constraint per rule (equal cost shares assumed, as the checks do when none are given).
Solved by HiGHS through :func:`scipy.optimize.milp` within a time limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.consortium.pool import Candidate, Pool, Weights
from matcher.rules import Partner, Rule, counts

TIME_LIMIT = 5.0  # seconds per solve
LEAD_BONUS = 0.01  # of the lead's relevance: the most relevant allowed member leads


@dataclass
class Problem:
    """What to choose: ``size`` members of ``pool`` under ``rules``; ``fixed`` in, ``lead`` leading if given."""

    pool: Pool
    size: int
    rules: Sequence[Rule]
    fixed: Sequence[int] = ()
    exclude: Sequence[int] = ()
    lead: int | None = None
    support: bool = False
    weights: Weights = field(default_factory=Weights)

    def ids(self) -> list[int]:
        """The candidates: not excluded, no service firm unless fixed or support is asked for."""
        out = set(self.exclude)
        return [i for i, c in self.pool.candidates.items()
                if i not in out and (not c.partner.service or self.support or i in self.fixed)]


class _Model:
    """Columns and sparse rows of one programme."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, cost: float, lo: float = 0.0, hi: float = 1.0, integer: bool = True) -> int:
        self.cost.append(cost)
        self.lo.append(lo)
        self.hi.append(hi)
        self.integer.append(int(integer))
        return len(self.cost) - 1

    def row(self, coef: dict[int, float], lo: float = -np.inf, hi: float = np.inf) -> None:
        self.rows.append((coef, lo, hi))

    def solve(self, time_limit: float) -> np.ndarray | None:
        from scipy.optimize import Bounds, LinearConstraint, milp  # here: only a consortium pays for it
        from scipy.sparse import coo_matrix

        if not self.rows:
            self.row({0: 0.0})
        r, c, v = zip(*[(k, j, a) for k, (coef, _lo, _hi) in enumerate(self.rows) for j, a in coef.items()]
                      or [(0, 0, 0.0)])
        a = coo_matrix((v, (r, c)), shape=(len(self.rows), len(self.cost))).tocsr()
        cons = LinearConstraint(a, [lo for _c, lo, _h in self.rows], [hi for _c, _l, hi in self.rows])
        res = milp(-np.asarray(self.cost), constraints=cons, integrality=np.asarray(self.integer),
                   bounds=Bounds(self.lo, self.hi), options={"time_limit": time_limit, "disp": False})
        return None if res.x is None else np.asarray(res.x)


def lead_allowed(rules: Sequence[Rule], p: Partner) -> bool:
    """Whether the builder may propose ``p`` as lead: never a service firm, and as the lead rule says."""
    return not p.service and all(counts(r, p) for r in rules if r.type in ("lead", "lead_sme"))


def solve(problem: Problem, time_limit: float = TIME_LIMIT) -> list[int] | None:
    """The best team (lead first, then the fixed members, then by relevance), or None if there is none."""
    pb, w = problem, problem.weights
    ids = pb.ids()
    n = min(pb.size, len(ids))
    if not ids or any(f not in ids for f in pb.fixed):
        return None
    cands = [pb.pool.candidates[i] for i in ids]
    m = _Model()
    x = [m.var(w.relevance * c.relevance, lo=1.0 if i in pb.fixed else 0.0) for i, c in zip(ids, cands)]
    lead_ok = [i == pb.lead if pb.lead is not None else lead_allowed(pb.rules, c.partner) for i, c in zip(ids, cands)]
    lead = [m.var(LEAD_BONUS * c.relevance, hi=float(ok)) for c, ok in zip(cands, lead_ok)]
    m.row(dict.fromkeys(x, 1.0), n, n)
    m.row(dict.fromkeys(lead, 1.0), 1, 1)
    for xi, li in zip(x, lead):
        m.row({li: 1.0, xi: -1.0}, hi=0.0)
    _coverage_and_diversity(m, pb, cands, x)
    _roles(m, pb, ids, x)
    service = {xi: 1.0 for c, xi in zip(cands, x) if c.partner.service}
    if pb.support and service:
        k = max(1, sum(pb.pool.candidates[f].partner.service for f in pb.fixed))
        m.row(service, k, k)
    if not all([_constrain(m, rule, cands, x, n) for rule in pb.rules]):
        return None
    sol = m.solve(time_limit)
    if sol is None:
        return None
    team = [i for i, xi in zip(ids, x) if sol[xi] > 0.5]
    head = next(i for i, li in zip(ids, lead) if sol[li] > 0.5)
    rest = sorted((i for i in team if i != head and i not in pb.fixed), key=lambda i: -pb.pool.candidates[i].relevance)
    return [head, *[f for f in pb.fixed if f != head], *rest]


def _coverage_and_diversity(m: _Model, pb: Problem, cands: Sequence[Candidate], x: list[int]) -> None:
    """The aspect assignment ``z_ij`` and the kind and country indicators, with their objective terms."""
    w = pb.weights
    n_asp = len(pb.pool.aspects)
    for j in range(n_asp):
        z = {m.var(w.coverage * c.aspects[j] / n_asp, integer=False): xi for c, xi in zip(cands, x)
             if c.aspects[j] > 0}
        m.row(dict.fromkeys(z, 1.0), hi=1.0)
        for zi, xi in z.items():
            m.row({zi: 1.0, xi: -1.0}, hi=0.0)
    for attr, bonus in (("kind", w.kind), ("country", w.country)):
        for value in {getattr(c.partner, attr) for c in cands}:
            present = m.var(bonus, integer=False)
            m.row({present: 1.0, **{xi: -1.0 for c, xi in zip(cands, x) if getattr(c.partner, attr) == value}}, hi=0.0)


def _roles(m: _Model, pb: Problem, ids: Sequence[int], x: list[int]) -> None:
    """Each role the call names filled by one of its candidates (not a service firm), one role per member."""
    col = {i: xi for i, xi in zip(ids, x) if not pb.pool.candidates[i].partner.service}
    per_member: dict[int, dict[int, float]] = {}
    for role in pb.pool.roles:
        y = {m.var(pb.weights.role * s, integer=False): col[i] for i, s in role.candidates.items() if i in col}
        if not y:
            continue
        filled = m.var(pb.weights.fill)
        m.row({**dict.fromkeys(y, 1.0), filled: -1.0}, 0.0, 0.0)
        for yi, xi in y.items():
            per_member.setdefault(xi, {})[yi] = 1.0
    for xi, ys in per_member.items():
        m.row({**ys, xi: -1.0}, hi=0.0)


def _constrain(m: _Model, rule: Rule, cands: Sequence[Candidate], x: list[int], n: int) -> bool:
    """Add the rows that state ``rule`` for a team of ``n`` with equal cost shares; False if no team can
    meet it whoever is chosen (a team too small to keep every participant's share under the cap)."""
    prm = rule.params
    counted = {xi: 1.0 for c, xi in zip(cands, x) if counts(rule, c.partner)}
    if rule.type in ("members_in", "min_kinds", "min_smes"):
        m.row(counted, lo=int(prm["count"]))
    elif rule.type == "sme_cost_share":
        m.row(counted, lo=math.ceil(float(prm["min_share"]) * n - 1e-9))
    elif rule.type == "distinct_countries":
        codes = prm["countries"].codes
        used = []
        for country in sorted({c.partner.country for c in cands} & codes):
            u = m.var(0.0)
            used.append(u)
            m.row({u: 1.0, **{xi: -1.0 for c, xi in zip(cands, x) if c.partner.country == country}}, hi=0.0)
        m.row(dict.fromkeys(used, 1.0), lo=int(prm["count"]))
    elif rule.type == "max_cost_share":
        cap = math.floor(float(prm["max_share"]) * n + 1e-9)
        if prm["by"] == "organisation":
            return cap >= 1
        for country in {c.partner.country for c in cands}:
            m.row({xi: 1.0 for c, xi in zip(cands, x) if c.partner.country == country}, hi=cap)
    return True
