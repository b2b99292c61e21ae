"""The three questions users ask, as queries over the matcher.

* free text (a search box),
* a stored challenge ("which companies and labs for this hospital's problem?"),
* partners for an organisation ("whom should we team up with?").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from matcher.consortium.firms import name_cue
from matcher.domain import COMPANY_KINDS, Filters, Organisation, Query, Suggestion
from matcher.engine import MAX_K, Matcher
from matcher.ranking.roles import (
    KIND_GROUPS,
    ROLE_ROOM,
    Role,
    derive_roles,
    group_of,
    need_text,
    role_pipeline,
    roles_of,
)
from matcher.retrieval.bridge import query_terms
from matcher.storage.keys import verdicts_for
from matcher.text import tokens

PROFILE_EVIDENCE = 5  # recent evidence titles used when an organisation has no profile text
LOOK_ALIKES = 5  # companies checked for offering the same as a company looking for partners
LOOK_ALIKE_SHARE = 0.8  # ... and counted as look-alikes when their match is this close to the best


def text_query(matcher: Matcher, text: str, k: int = 10, filters: Filters | None = None,
               visible: tuple[str, ...] | None = None) -> Query:
    """A free-text query, with the feedback users gave on this exact text applied."""
    return Query(text, k, filters or Filters(), visible, verdicts=verdicts_for(matcher.store, None, text))


def challenge_query(matcher: Matcher, challenge_id: int, k: int = 10, filters: Filters | None = None) -> Query:
    """A query for a challenge: its text, its wanted kinds, and its poser left out."""
    ch = matcher.store.get_challenge(challenge_id)
    f = filters or Filters()
    if ch.wanted_kinds and not f.kinds:
        f.kinds = list(ch.wanted_kinds)
    if ch.posed_by is not None:
        f.exclude_ids = [*f.exclude_ids, ch.posed_by]
    return Query(ch.query_text, k, f, seed=ch.posed_by, verdicts=verdicts_for(matcher.store, challenge_id), ties=False)


def suggest_for_challenge(matcher: Matcher, challenge_id: int, k: int = 10,
                          filters: Filters | None = None) -> list[Suggestion]:
    return matcher.search(challenge_query(matcher, challenge_id, k, filters))


def profile_text(matcher: Matcher, org: Organisation) -> str:
    """What an organisation looks for: its ``seeks``, else its profile, else its recent evidence titles."""
    if org.seeks.strip():
        return org.seeks
    profile = " ".join(x for x in (org.description, org.offers) if x.strip())
    if profile:
        return profile
    titles = [e["title"] for e in matcher.store.evidence_of(org.id or 0)[:PROFILE_EVIDENCE]]
    return ". ".join(titles) or org.name


def partners_query(matcher: Matcher, org_id: int, k: int = 10, exclude_past_partners: bool = False,
                   filters: Filters | None = None) -> Query:
    """A query for complementary partners of ``org_id``: itself (and optionally past partners) left out."""
    org = matcher.store.get_organisation(org_id)
    f = filters or Filters()
    exclude = [org_id]
    if exclude_past_partners:
        exclude.extend(matcher.store.partners_of(org_id))
    f.exclude_ids = [*f.exclude_ids, *exclude]
    return Query(profile_text(matcher, org), k, f, seed=org_id, demote=look_alikes(matcher, org, exclude))


def look_alikes(matcher: Matcher, org: Organisation, exclude: list[int]) -> list[int]:
    """Companies that offer what ``org`` offers: competitors rather than partners for a company.

    Only for a company that states both what it offers and what it seeks (a member profile):
    the companies among the best matches for its offers whose match is at least
    :data:`LOOK_ALIKE_SHARE` of the best one are shown after the others.
    """
    if org.kind not in COMPANY_KINDS or not org.offers.strip() or not org.seeks.strip():
        return []
    found = matcher.search(Query(org.offers, LOOK_ALIKES, Filters(kinds=sorted(COMPANY_KINDS), exclude_ids=exclude)))
    if not found:
        return []
    best = found[0].components.get("dense", 0.0)
    return [s.organisation.id for s in found
            if s.organisation.id is not None and s.components.get("dense", 0.0) >= LOOK_ALIKE_SHARE * best]


def partners_for(matcher: Matcher, org_id: int, k: int = 10, exclude_past_partners: bool = False,
                 filters: Filters | None = None) -> list[Suggestion]:
    return matcher.search(partners_query(matcher, org_id, k, exclude_past_partners, filters))


# The kind groups that complement an organisation's own: a company pilots in a hospital and validates
# with a lab; a lab needs a company to build and a hospital to test; a hospital needs both.
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "company": ("hospital", "university", "research_institute"),
    "university": ("company", "hospital"),
    "research_institute": ("company", "hospital"),
    "hospital": ("company", "university", "research_institute"),
}


def partner_roles(org: Organisation, text: str) -> list[Role]:
    """The partners an organisation looks for: the ones its text names ("we seek a hospital to pilot
    in"), else one role per kind group that complements its own (never its own group: competitors)."""
    named = [r for r in derive_roles(text) if r.derived]
    if named:
        return named
    return [Role(g, list(KIND_GROUPS[g]), text, False)
            for g in COMPLEMENTS.get(group_of(org.kind), tuple(KIND_GROUPS))]


def partners_by_role(matcher: Matcher, org_id: int, k: int = 10, exclude_past_partners: bool = False,
                     filters: Filters | None = None, visible: tuple[str, ...] | None = None
                     ) -> tuple[list[Suggestion], list[RoleSuggestions]]:
    """Partners for an organisation per complementary role (:func:`partner_roles`), and the roles
    interleaved as one list of ``k``."""
    base = partners_query(matcher, org_id, k, exclude_past_partners, filters)
    base.visible = visible
    return answer_by_role(matcher, base, partner_roles(matcher.store.get_organisation(org_id), base.text))


def search_by_role(matcher: Matcher, query: Query) -> tuple[list[Suggestion], list[RoleSuggestions]]:
    """A free-text question per role: the partners its text names, else one per kind it filters on."""
    return answer_by_role(matcher, query, derive_roles(query.text, query.filters.kinds))


def answer_by_role(matcher: Matcher, base: Query, roles: Sequence[Role]
                   ) -> tuple[list[Suggestion], list[RoleSuggestions]]:
    """The suggestions per role and the roles interleaved; with no role, the whole question as one list."""
    if not roles:
        return matcher.search(base), []
    by_role = suggest_by_role(matcher, base, roles)
    return interleave(by_role, base.k), by_role


ROLE_DEEPER = 4  # ... and once this many times more when fewer than ROLE_FEW of them were left
ROLE_FEW = 3
ON_TOPIC_DENSE = 0.3  # shown evidence sharing no term with the need is on topic from this similarity on
# An organisation whose closest evidence is further in meaning from the whole question than this is off
# topic, whatever words it shares with the need ("hybrid closed-loop" in an electricity-grid project for
# an insulin pump). Chosen by reading the 12 demo challenges: the on-topic suggestions reach 0.35-0.65,
# the ones a reader calls beside the point 0.20-0.28 (docs/EVALUATION.md, task role).
ON_TOPIC_CONTEXT = 0.3


@dataclass
class RoleSuggestions:
    """The suggestions for one role of a question."""

    role: Role
    suggestions: list[Suggestion]

    def to_dict(self) -> dict[str, Any]:
        return {**self.role.to_dict(), "data": [s.to_dict() for s in self.suggestions],
                "count": len(self.suggestions)}


def suggest_for_challenge_by_role(matcher: Matcher, challenge_id: int, k: int = 10, filters: Filters | None = None,
                                  visible: tuple[str, ...] | None = None
                                  ) -> tuple[list[Suggestion], list[RoleSuggestions]]:
    """A challenge's suggestions per role, and the roles interleaved as one list of ``k``.

    The roles carry the challenge's wanted kinds; ``filters`` (the caller's) narrow them further.
    """
    user_kinds = list(filters.kinds) if filters and filters.kinds else []
    base = challenge_query(matcher, challenge_id, k, filters)
    base.visible = visible
    roles = challenge_roles(matcher, challenge_id)
    if roles:  # the roles carry the wanted kinds; without roles the whole text goes over the wanted kinds
        base.filters.kinds = user_kinds
    return answer_by_role(matcher, base, roles)


def challenge_roles(matcher: Matcher, challenge_id: int) -> list[Role]:
    """The roles of a stored challenge: as edited by a person, else derived from its text and wanted kinds."""
    ch = matcher.store.get_challenge(challenge_id)
    return roles_of(ch.query_text, ch.wanted_kinds, ch.roles)


def suggest_by_role(matcher: Matcher, base: Query, roles: Sequence[Role]) -> list[RoleSuggestions]:
    """For each role, the best ``base.k`` organisations of its kinds for its need, with the whole
    question as context; a suggestion whose best evidence is off topic for the need is left out, and so is a
    service firm from a company role (:func:`service_firms_among`). A role left with fewer than
    :data:`ROLE_FEW` asks once more, :data:`ROLE_DEEPER` times deeper.

    ``base`` carries the question (text, filters, visibility, seed, verdicts); a role whose kinds the
    base filters exclude is skipped.
    """
    asked: list[tuple[Role, Query]] = []
    for role in sorted(roles, key=lambda r: r.name != "company"):  # companies first: what users miss most
        kinds = [k for k in role.kinds if not base.filters.kinds or k in base.filters.kinds]
        if not kinds:
            continue
        f = replace(base.filters, kinds=kinds)
        need = need_text(role.need) if role.derived else role.need
        asked.append((role, Query(need or role.need, min(base.k * ROLE_ROOM, MAX_K), f, base.visible, base.seed,
                                  dict(base.verdicts), list(base.demote), context=base.text if role.derived else "",
                                  ties=False)))
    title = base.text.split(". ")[0]  # a challenge's text starts with its title

    def keep(asked_now: list[tuple[Role, Query]]) -> list[tuple[list[Suggestion], list[Suggestion]]]:
        """Per role: its ranking, and the suggestions kept (on topic, near the question, no service firm for a
        company role)."""
        found = matcher.search_with([(q, role_pipeline(role.name)) for role, q in asked_now])
        firms = service_firms_among(matcher, [s for (role, _q), ss in zip(asked_now, found) if role.name == "company"
                                              for s in ss])
        out = []
        for (role, q), suggestions in zip(asked_now, found):
            terms = need_terms(q.text, title)
            kept = [s for s in suggestions
                    if on_topic(s, terms) and not (role.name == "company" and s.organisation.id in firms)]
            out.append((suggestions, [s for s in kept if _near_question(s)] if q.context else kept))
        return out

    results = keep(asked)
    # a role left with fewer than ROLE_FEW while its ranking was cut (more of its kinds were there) asks once
    # more, deeper: the filters apply before the cut-off, not instead of suggestions
    short = [i for i, ((_role, q), (ranked, kept)) in enumerate(zip(asked, results))
             if len(kept) < min(base.k, ROLE_FEW) and len(ranked) >= q.k and q.k < MAX_K]
    if short:
        deeper = [(asked[i][0], replace(asked[i][1], k=min(asked[i][1].k * ROLE_DEEPER, MAX_K))) for i in short]
        for i, result in zip(short, keep(deeper)):
            results[i] = result
    out = []
    for (role, _q), (_ranked, kept) in zip(asked, results):
        out.append(RoleSuggestions(role, [replace(s, rank=i, explanation={**s.explanation, "role": role.name})
                                          for i, s in enumerate(kept[:base.k], 1)]))
    return out


def need_terms(need: str, title: str) -> set[str]:
    """The terms :func:`on_topic` looks for in the evidence shown: those of a role's need and of the question's
    title, a Dutch need's English renderings included (:func:`~matcher.retrieval.bridge.query_terms`, as the
    explanation chose the evidence sentence by)."""
    return query_terms(f"{need} {title}")


def on_topic(s: Suggestion, terms: set[str]) -> bool:
    """Whether a suggestion's shown evidence meets the need: its title or best sentence shares a
    (stemmed) content term with the need or the question's title, or it is close in meaning to the
    need (:data:`ON_TOPIC_DENSE`). A suggestion users judged relevant always counts."""
    if s.explanation.get("feedback") not in (None, "not_relevant"):
        return True
    evidence = s.explanation.get("evidence") or []
    shown = f"{evidence[0].get('title', '')} {evidence[0].get('sentence', '')}" if evidence else ""
    return bool(terms & set(tokens(shown))) or s.components.get("dense", 0.0) >= ON_TOPIC_DENSE


def _near_question(s: Suggestion) -> bool:
    """Whether the evidence shown first is near the whole question in meaning (:data:`ON_TOPIC_CONTEXT`),
    or users judged the organisation relevant."""
    if s.explanation.get("feedback") not in (None, "not_relevant"):
        return True
    evidence = s.explanation.get("evidence") or [{}]
    return evidence[0].get("context", s.components.get("context", 1.0)) >= ON_TOPIC_CONTEXT


def service_firms_among(matcher: Matcher, suggestions: Sequence[Suggestion]) -> set[int]:
    """The suggested organisations that are project-management, consulting, communication or dissemination
    firms, by the consortium builder's test (a strong name cue, a weak one with broad evidence, or a small firm
    in many consortia whose evidence has no thread: :mod:`matcher.consortium.firms`): not companies that build
    what a role asks for, however often they joined consortia on its topic. A firm users judged relevant stays;
    one no longer in the catalogue (a write since the ranking) is judged by its name alone."""
    from matcher.consortium.pool import find_service_firms

    judged = [s for s in suggestions if s.organisation.id is not None
              and s.explanation.get("feedback") in (None, "not_relevant")]
    by_name = {int(s.organisation.id) for s in judged if name_cue(s.organisation.name) == "strong"}  # type: ignore[arg-type]
    snap = matcher.snapshot_
    if snap is None or not judged:
        return by_name
    cat = snap.catalogue  # positions and kinds from this one catalogue, whatever a sync swaps in meanwhile
    ids = list(dict.fromkeys(int(s.organisation.id) for s in judged))  # type: ignore[arg-type]
    present = set(cat.org_ids[cat.org_index(ids)].tolist())
    ids = [i for i in ids if i in present]
    firms = find_service_firms(matcher, ids, cat.org_index(ids), cat) if ids else []
    return by_name | {i for i, firm in zip(ids, firms) if firm}


def interleave(lists: Sequence[RoleSuggestions], k: int) -> list[Suggestion]:
    """One list from the roles' lists, taking each role's next suggestion in turn (each organisation once)."""
    out: list[Suggestion] = []
    seen: set[int | None] = set()
    for i in range(max((len(r.suggestions) for r in lists), default=0)):
        for r in lists:
            if i < len(r.suggestions) and r.suggestions[i].organisation.id not in seen and len(out) < k:
                seen.add(r.suggestions[i].organisation.id)
                out.append(replace(r.suggestions[i], rank=len(out) + 1))
    return out
