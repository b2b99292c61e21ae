"""The roles a call names, filled first: each by a good candidate for that role's own need.

``call text -> roles (matcher.ranking.roles.derive_roles; one clause naming several kind groups,
"a lab", "a partner with ...", stays one role that any of them may fill) -> one query per role
(its need, the whole call as context, its kinds as the filter, the role's pipeline, exactly as
``matcher.queries.suggest_by_role`` ranks) -> the best on-topic candidates of each role with their
score for the need``. The solver (:mod:`matcher.consortium.solve`) then fills the roles before it
optimises the rest of the team; :func:`assign_roles` says which member fills which role.

>>> [(r.name, r.need) for r in call_roles("We look for a sensor company, and a lab to test it.")]
[('company', 'a sensor company'), ('university or research institute', 'a lab to test it')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from matcher.domain import Filters, Query, Suggestion
from matcher.engine import MAX_K
from matcher.messages import Message
from matcher.ranking.pipeline import Pipeline
from matcher.ranking.roles import KIND_GROUPS, ROLE_ROOM, derive_roles, need_text, role_pipeline
from matcher.text import words

ROLE_DEPTH = 10  # a role's best on-topic candidates, any of whom may fill it
LABEL_WORDS = 10  # words of the need shown in a member's reason
GROUP_WORDS = {"company": Message("company"), "university": Message("university"),
               "research_institute": Message("research institute"), "hospital": Message("hospital")}


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else Message("{first} or {second}", first=_either(names[:-1]), second=names[-1])


@dataclass
class CallRole:
    """A partner the call asks for.

    Attributes:
        groups: the kind groups that may fill it (``company``, ``university``, ...; several for
            "a lab" or "a partner with ...").
        kinds: the organisation kinds of those groups.
        need: what the partner should bring, in the call's words.
        candidates: organisation id -> its score for the need in [0, 1], best first (the role's
            ranking, on topic only, at most :data:`ROLE_DEPTH`).
    """

    groups: list[str]
    kinds: list[str]
    need: str
    candidates: dict[int, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return _either([GROUP_WORDS.get(g) or g.replace("_", " ") for g in self.groups])

    @property
    def label(self) -> str:
        """The need, shortened for a reason: "a company with a hybrid closed-loop system or …"."""
        parts = self.need.replace("; ", ", ").split()  # "; " joins the parts of a member's reason
        return " ".join(parts[:LABEL_WORDS]).rstrip(".,;:") + ("…" if len(parts) > LABEL_WORDS else "")

    def reason(self) -> str:
        return Message("fills the role: {role} — {need}", role=self.name, need=self.label)

    def to_dict(self, filled_by: int | None, size: int) -> dict[str, Any]:
        """The JSON shape: the role, how many candidates fit it, who fills it, or why nobody does."""
        why = ("" if filled_by is not None else
               Message("no organisation that matches the call fits this role's need") if not self.candidates else
               Message("none of its {n} candidates fits in a team of {size} that meets the instrument's rules and "
                       "fills the other roles", n=len(self.candidates), size=size))
        return {"name": self.name, "groups": list(self.groups), "kinds": list(self.kinds), "need": self.need,
                "candidates": len(self.candidates), "filled_by": filled_by, "why": why}


def call_roles(text: str) -> list[CallRole]:
    """The roles the call's text names (none when it names no partner); the groups one clause names
    make one role."""
    by_need: dict[str, list[str]] = {}
    for role in derive_roles(text):
        need = "; ".join(part for part in role.need.split("; ") if words(part))  # no bare "is" left of a clause
        if role.derived and need:
            by_need.setdefault(need, []).append(role.name)
    return [CallRole(groups, [k for g in groups for k in KIND_GROUPS[g]], need) for need, groups in by_need.items()]


def role_queries(roles: Sequence[CallRole], text: str, filters: Filters, visible: tuple[str, ...] | None,
                 rule_filters: Sequence[Filters] = ()) -> list[tuple[CallRole, Query, Pipeline]]:
    """Per role: its need (the partner's cue words taken out) with the call as context, over its kinds
    within the caller's ``filters``, then the same within each rule filter that admits some of its kinds
    (e.g. Dutch SMEs for MIT), so the role can be filled by a partner the rules need. A role whose kinds
    the filters leave out is skipped. The role's first query is its own ranking."""
    out = []
    for role in roles:
        kinds = [k for k in role.kinds if not filters.kinds or k in filters.kinds]
        if not kinds:
            continue
        need = need_text(role.need) or role.need
        pipeline = role_pipeline(role.groups[0] if len(role.groups) == 1 else "default")
        for f in [filters, *rule_filters]:
            within = [k for k in kinds if not f.kinds or k in f.kinds]
            if within:
                out.append((role, Query(need, min(ROLE_DEPTH * ROLE_ROOM, MAX_K), replace(f, kinds=within), visible,
                                        context=text), pipeline))
    return out


def fill_candidates(asked: Sequence[tuple[CallRole, Query, Pipeline]], rankings: Sequence[Sequence[Suggestion]],
                    title: str, floor: float) -> list[CallRole]:
    """Each asked role with the best on-topic candidates of each of its queries, scores divided by the
    best score of its own ranking (its first query), or by ``floor`` if nobody reaches it."""
    from matcher.queries import need_terms, on_topic  # here: matcher.queries imports this package (its firm cue)

    out: dict[int, CallRole] = {}
    best: dict[int, float] = {}
    for (role, query, _p), ranking in zip(asked, rankings):
        terms = need_terms(query.text, title)  # the same test as the challenge page's roles
        kept = [s for s in ranking if s.organisation.id is not None and on_topic(s, terms)][:ROLE_DEPTH]
        key = id(role)
        if key not in out:
            out[key] = CallRole(role.groups, role.kinds, role.need)
            best[key] = max([floor, *(s.score for s in kept)])
        for s in kept:
            oid = s.organisation.id or 0
            score = min(max(s.score, 0.0) / best[key], 1.0)
            out[key].candidates[oid] = max(out[key].candidates.get(oid, 0.0), score)
    return list(out.values())


def assign_roles(roles: Sequence[CallRole], team: Sequence[int], service: Sequence[int] = ()) -> list[int | None]:
    """The member that fills each role (None: no member is among its candidates), each member at most
    one role, the best total score (an optimal assignment; service firms fill none)."""
    members = [i for i in team if i not in set(service)]
    if not roles or not members:
        return [None] * len(roles)
    from scipy.optimize import linear_sum_assignment  # here: a search never pays for importing it

    score = np.array([[r.candidates.get(i, -1.0) for i in members] for r in roles])
    rows, cols = linear_sum_assignment(score, maximize=True)
    out: list[int | None] = [None] * len(roles)
    for r, c in zip(rows, cols):
        if score[r, c] >= 0:
            out[r] = members[c]
    return out
