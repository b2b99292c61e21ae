"""Challenges: CRUD with confidentiality, and suggestions for a challenge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ChallengeId, MatcherDep, Reader, StoreDep, Writer
from api.schemas import ChallengeCreate, ChallengePublic, ChallengesPublic, ChallengeUpdate, SuggestionsPublic
from matcher import access
from matcher.access import Principal
from matcher.domain import Challenge
from matcher.errors import Forbidden, InvalidInput, NotFound
from matcher.queries import challenge_query
from matcher.storage.store import Store

router = APIRouter(prefix="/v1/challenges", tags=["challenges"])


def visible_challenge(store: Store, p: Principal, challenge_id: int) -> Challenge:
    """The challenge, or the same NotFound as for a missing one when the caller may not see it."""
    try:
        ch = store.get_challenge(challenge_id)
    except NotFound:
        ch = None
    if ch is None or not access.can_see_challenge(p, ch):
        raise NotFound(f"challenge {challenge_id} does not exist")
    return ch


@router.get("", response_model=ChallengesPublic)
def list_challenges(store: StoreDep, p: Reader, offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> ChallengesPublic:
    visible = [c for c in store.list_challenges() if access.can_see_challenge(p, c)]
    return ChallengesPublic(data=[ChallengePublic.of(c) for c in visible[offset:offset + limit]], count=len(visible))


@router.post("", status_code=201, response_model=ChallengePublic)
def create_challenge(body: ChallengeCreate, store: StoreDep, p: Writer) -> ChallengePublic:
    ch = Challenge(**body.model_dump())
    if not p.is_staff:  # a member poses challenges for its own organisation
        if body.posed_by not in (None, p.org_id):
            raise Forbidden("members pose challenges for their own organisation only")
        ch.posed_by = p.org_id
    elif ch.posed_by is not None:
        store.get_organisation(ch.posed_by)
    if ch.confidentiality == "owner" and ch.posed_by is None:
        raise InvalidInput("confidentiality: 'owner' needs posed_by, the owning organisation")
    return ChallengePublic.of(store.get_challenge(store.save_challenge(ch)))


@router.get("/{challenge_id}", response_model=ChallengePublic)
def get_challenge(challenge_id: ChallengeId, store: StoreDep, p: Reader) -> ChallengePublic:
    return ChallengePublic.of(visible_challenge(store, p, challenge_id))


@router.patch("/{challenge_id}", response_model=ChallengePublic)
def update_challenge(challenge_id: ChallengeId, body: ChallengeUpdate, store: StoreDep, p: Writer
                     ) -> ChallengePublic:
    ch = visible_challenge(store, p, challenge_id)
    if not access.can_edit_challenge(p, ch):
        raise Forbidden("only staff or the posing organisation may edit this challenge")
    for key, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"{key}: must not be null")
        setattr(ch, key, value)
    store.save_challenge(ch)
    return ChallengePublic.of(store.get_challenge(challenge_id))


@router.delete("/{challenge_id}", status_code=204)
def delete_challenge(challenge_id: ChallengeId, store: StoreDep, p: Writer) -> Response:
    ch = visible_challenge(store, p, challenge_id)
    if not access.can_edit_challenge(p, ch):
        raise Forbidden("only staff or the posing organisation may delete this challenge")
    store.delete_challenge(challenge_id)
    return Response(status_code=204)


@router.get("/{challenge_id}/suggestions", response_model=SuggestionsPublic)
def suggestions(challenge_id: ChallengeId, matcher: MatcherDep, p: Reader,
                k: Annotated[int, Query(ge=1, le=100)] = 10) -> SuggestionsPublic:
    visible_challenge(matcher.store, p, challenge_id)
    query = challenge_query(matcher, challenge_id, k)
    query.visible = access.visible_levels(p)
    found = matcher.search(query)
    return SuggestionsPublic(data=[s.to_dict() for s in found], count=len(found))  # type: ignore[misc]
