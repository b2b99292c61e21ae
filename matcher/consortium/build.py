"""The consortium report: members with roles, aspects and the rule that forced each in; rules; why not.

``build_consortium`` is the library call behind ``matcher consortium`` and ``POST /v1/consortium``:
pool the candidates (:mod:`matcher.consortium.pool`), choose under the rules
(:mod:`matcher.consortium.select`), describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matcher.consortium.greedy import _check_ids, target_size
from matcher.consortium.pool import COVER, Pool, Weights, score_candidates
from matcher.consortium.reasons import forced_reasons
from matcher.consortium.roles import CallRole, assign_roles
from matcher.consortium.select import Selection, select_team, swap_team
from matcher.domain import Filters, Organisation
from matcher.engine import Matcher
from matcher.errors import InvalidInput
from matcher.messages import Message
from matcher.rules import Instrument, Partner, RuleResult, check_team, is_eligible
from matcher.rules.instruments import kind_word


@dataclass
class Member:
    """A chosen organisation, its role in words, the aspects it is responsible for and why it is in
    (``reason``): the role of the call it fills ("fills the role: company — a company with a hybrid
    closed-loop …") and, when a rule forced it in, that rule's purpose ("added to reach 50% SME cost"),
    joined by "; "."""

    organisation: Organisation
    role: str
    aspects: list[str]
    fixed: bool
    relevance: float
    reason: str = ""
    service: bool = False
    fills: str = ""  # the name of the role the call names that this member fills ("company"), or ""


@dataclass
class Consortium:
    """A proposed team with its eligibility report; ``unmet`` names each rule no team can meet, and why."""

    instrument: Instrument
    aspects: list[str]
    members: list[Member]
    uncovered: list[str]
    rules: list[RuleResult]
    eligible: bool
    extra: dict[str, Any] = field(default_factory=dict)
    unmet: list[tuple[str, str]] = field(default_factory=list)
    method: str = "solver"
    roles: list[CallRole] = field(default_factory=list)
    filled_by: list[int | None] = field(default_factory=list)  # per role, the member that fills it

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``matcher consortium --json`` and ``POST /v1/consortium``."""
        return {
            "members": [{"organisation": _org_dict(m.organisation), "role": m.role, "aspects": m.aspects,
                         "fixed": m.fixed, "relevance": round(m.relevance, 4), "reason": m.reason,
                         "service_firm": m.service, "fills_role": m.fills or None} for m in self.members],
            "uncovered": self.uncovered,
            "rules": [r.to_dict() for r in self.rules],
            "eligible": self.eligible,
            "instrument": {"id": self.instrument.id, "name": self.instrument.name, "source": self.instrument.source},
            "aspects": self.aspects,
            "coverage": round(1 - len(self.uncovered) / max(len(self.aspects), 1), 4),
            "unmet": [{"rule": r, "why": why} for r, why in self.unmet],
            "method": self.method,
            "roles": [r.to_dict(i, len(self.members)) for r, i in zip(self.roles, self.filled_by)],
        }


def _org_dict(o: Organisation) -> dict[str, Any]:
    return o.summary_dict()


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


def _role(org: Organisation, position: int, fixed: bool, labels: list[str], service: bool = False) -> str:
    who = Message("coordinator") if position == 0 else Message("project support") if service else Message("partner")
    kind, country = kind_word(org.kind), org.country or "?"
    head = (Message("{who} (fixed), {kind} from {country}", who=who, kind=kind, country=country) if fixed else
            Message("{who}, {kind} from {country}", who=who, kind=kind, country=country))
    if not labels:
        return Message("{head}: relevant to the call as a whole, no aspect of its own", head=head)
    return Message("{head}: {aspects}", head=head, aspects="; ".join(labels))


def _reason(fills: str, forced: str) -> str:
    """A member's reason: the role it fills and the rule that forced it in, either or both."""
    return Message("{fills}; {forced}", fills=fills, forced=forced) if fills and forced else fills or forced


def describe(matcher: Matcher, pool: Pool, instrument: Instrument, team: Sequence[int] | Selection,
             fixed: Sequence[int] = (), weights: Weights | None = None) -> Consortium:
    """The consortium report: members with roles, aspects and reasons, uncovered aspects, rules, eligibility."""
    chosen = team if isinstance(team, Selection) else Selection(list(team), "greedy")
    ids = chosen.team
    orgs = matcher.store.get_organisations(ids)
    owned, uncovered = responsibilities(pool, ids)
    reasons = forced_reasons(pool, instrument, ids, fixed, weights)
    filled_by = assign_roles(pool.roles, ids, [i for i in ids if pool.candidates[i].partner.service])
    fills = {i: r for r, i in zip(pool.roles, filled_by) if i is not None}
    members = []
    for n, i in enumerate(ids):
        service = pool.candidates[i].partner.service
        role = _role(orgs[i], n, i in fixed, [_label(pool.aspects[j]) for j in owned[i]], service)
        reason = _reason(fills[i].reason() if i in fills else "", reasons.get(i, ""))
        members.append(Member(orgs[i], role, [pool.aspects[j] for j in owned[i]], i in fixed,
                              pool.candidates[i].relevance, reason, service, fills[i].name if i in fills else ""))
    partners = [Partner(m.organisation.kind, m.organisation.country, m.organisation.sme, name=m.organisation.name,
                        id=m.organisation.id, service=m.service) for m in members]
    results = check_team(instrument, partners)
    return Consortium(instrument, pool.aspects, members, [pool.aspects[j] for j in uncovered], results,
                      is_eligible(results), unmet=chosen.unmet if not is_eligible(results) else [],
                      method=chosen.method, roles=list(pool.roles), filled_by=filled_by)


def build_consortium(matcher: Matcher, text: str, instrument: Instrument, fixed: Sequence[int] = (),
                     size: int | None = None, exclude: Sequence[int] = (), visible: tuple[str, ...] | None = None,
                     filters: Filters | None = None, swaps: Sequence[int] = (),
                     weights: Weights | None = None, support: bool = False) -> Consortium:
    """Propose a team for ``text`` under ``instrument``, then swap out each of ``swaps`` in turn.

    Args:
        fixed: organisations always in the team, the first one leading it (e.g. the startup itself).
        size: team size including the fixed members (default: the instrument's default size).
        exclude: organisations never proposed. visible: visibility levels the caller may see.
        swaps: members to replace by the next-best candidate, in order; a swapped-out
            organisation is not proposed again.
        support: add one service firm (project management, consulting, communication) as
            "project support"; without it, service firms are never proposed.
    """
    _check_ids(fixed, exclude)
    n = target_size(instrument, size, len(set(fixed)))
    pool = score_candidates(matcher, text, n, fixed, exclude, visible, filters, instrument)
    chosen = select_team(pool, instrument, n, fixed, exclude, weights, support)
    banned = list(exclude)
    for out in swaps:
        chosen = swap_team(pool, instrument, chosen.team, out, fixed, banned, weights, support)
        banned.append(out)
    return describe(matcher, pool, instrument, chosen, fixed, weights)


def swap_member(matcher: Matcher, text: str, instrument: Instrument, members: Sequence[int], remove: int,
                fixed: Sequence[int] = (), exclude: Sequence[int] = (), visible: tuple[str, ...] | None = None,
                filters: Filters | None = None, weights: Weights | None = None,
                support: bool = False) -> Consortium:
    """Re-check a given team (``members``, lead first) after replacing ``remove`` by the best candidate
    that keeps the rules met."""
    _check_ids(fixed, exclude)
    members = list(dict.fromkeys(members))
    if not set(fixed) <= set(members):
        raise InvalidInput("every fixed organisation must be among the members")
    pool = score_candidates(matcher, text, len(members), members, exclude, visible, filters, instrument)
    chosen = swap_team(pool, instrument, members, remove, fixed, exclude, weights, support)
    return describe(matcher, pool, instrument, chosen, fixed, weights)
