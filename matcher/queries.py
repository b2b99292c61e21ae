"""The three questions users ask, as queries over the matcher.

* free text (a search box),
* a stored challenge ("which companies and labs for this hospital's problem?"),
* partners for an organisation ("whom should we team up with?").
"""

from __future__ import annotations

from matcher.domain import Filters, Organisation, Suggestion
from matcher.engine import Matcher, Query
from matcher.keys import verdicts_for

PROFILE_EVIDENCE = 5  # recent evidence titles used when an organisation has no profile text


def challenge_query(matcher: Matcher, challenge_id: int, k: int = 10, filters: Filters | None = None) -> Query:
    """A query for a challenge: its text, its wanted kinds, and its poser left out."""
    ch = matcher.store.get_challenge(challenge_id)
    f = filters or Filters()
    if ch.wanted_kinds and not f.kinds:
        f.kinds = list(ch.wanted_kinds)
    if ch.posed_by is not None:
        f.exclude_ids = [*f.exclude_ids, ch.posed_by]
    return Query(ch.query_text, k, f, seed=ch.posed_by, verdicts=verdicts_for(matcher.store, challenge_id))


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
    return Query(profile_text(matcher, org), k, f, seed=org_id)


def partners_for(matcher: Matcher, org_id: int, k: int = 10, exclude_past_partners: bool = False,
                 filters: Filters | None = None) -> list[Suggestion]:
    return matcher.search(partners_query(matcher, org_id, k, exclude_past_partners, filters))
