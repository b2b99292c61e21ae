"""Challenges: CRUD with confidentiality, and suggestions for a challenge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.contract import rule_responses
from api.deps import ChallengeId, MatcherDep, Reader, StoreDep, Writer
from api.schemas import (
    ChallengeCreate,
    ChallengePublic,
    ChallengesPublic,
    ChallengeUpdate,
    ChallengeVersionPublic,
    ChallengeVersionsPublic,
    SuggestionsPublic,
)
from matcher import access
from matcher.errors import Conflict
from matcher.messages import Message
from matcher.queries import suggest_for_challenge_by_role
from matcher.ranking.roles import to_store
from matcher.storage import audit

router = APIRouter(prefix="/v1/challenges", tags=["challenges"])
ONE = "/{challenge_id:int}"  # an id is digits


@router.get("", response_model=ChallengesPublic)
def list_challenges(store: StoreDep, p: Reader, offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> ChallengesPublic:
    visible = [c for c in store.list_challenges() if access.can_see_challenge(p, c)]
    return ChallengesPublic(data=[ChallengePublic.of(c) for c in visible[offset:offset + limit]], count=len(visible))


@router.post("", status_code=201, response_model=ChallengePublic,
             responses=rule_responses("", "", ("posed_by", "required when confidentiality is 'owner'")))
def create_challenge(body: ChallengeCreate, store: StoreDep, p: Writer) -> ChallengePublic:
    """Pose a challenge; a member poses it for its own organisation."""
    ch = body.challenge()
    ch.posed_by = access.poser_of(store, p, body.posed_by)
    with store.transaction() as conn:
        cid = store.save_challenge(ch, conn)
        audit.record(conn, p, "challenge.create", f"challenge:{cid}", {"title": ch.title})
    return ChallengePublic.of(store.get_challenge(cid))


@router.get(ONE, response_model=ChallengePublic)
def get_challenge(challenge_id: ChallengeId, store: StoreDep, p: Reader) -> ChallengePublic:
    return ChallengePublic.of(access.visible_challenge(store, p, challenge_id))


@router.patch(ONE, response_model=ChallengePublic)
def update_challenge(challenge_id: ChallengeId, body: ChallengeUpdate, store: StoreDep, p: Writer
                     ) -> ChallengePublic:
    """Change the given fields. 409 when a challenge without a poser would become ``owner``-confidential."""
    ch = access.editable_challenge(store, p, challenge_id)
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        setattr(ch, key, to_store(value) if key == "roles" else value)
    if not ch.has_owner:
        raise Conflict("confidentiality: 'owner' needs posed_by, and this challenge has no poser")
    with store.transaction() as conn:
        store.save_challenge(ch, conn)
        audit.record(conn, p, "challenge.update", f"challenge:{challenge_id}", {"fields": sorted(changes)})
    return ChallengePublic.of(store.get_challenge(challenge_id))


@router.get(ONE + "/versions", response_model=ChallengeVersionsPublic)
def challenge_versions(challenge_id: ChallengeId, store: StoreDep, p: Reader) -> ChallengeVersionsPublic:
    """Every saved state of the challenge (text, wanted kinds, roles), oldest first."""
    access.visible_challenge(store, p, challenge_id)
    rows = store.challenge_versions(challenge_id)
    data = [ChallengeVersionPublic(**{**r, "saved_at": r["saved_at"].isoformat()}) for r in rows]
    return ChallengeVersionsPublic(data=data, count=len(data))


@router.delete(ONE, status_code=204)
def delete_challenge(challenge_id: ChallengeId, store: StoreDep, p: Writer) -> Response:
    ch = access.editable_challenge(store, p, challenge_id, Message("delete this challenge"))
    with store.transaction() as conn:
        store.delete_challenge(challenge_id, conn)
        audit.record(conn, p, "challenge.delete", f"challenge:{challenge_id}", {"title": ch.title})
    return Response(status_code=204)


@router.get(ONE + "/suggestions", response_model=SuggestionsPublic)
def suggestions(challenge_id: ChallengeId, matcher: MatcherDep, p: Reader,
                k: Annotated[int, Query(ge=1, le=100)] = 10) -> SuggestionsPublic:
    access.visible_challenge(matcher.store, p, challenge_id)
    found, by_role = suggest_for_challenge_by_role(matcher, challenge_id, k, visible=access.visible_levels(p))
    return SuggestionsPublic(data=[s.to_dict() for s in found], count=len(found),  # type: ignore[misc]
                             roles=[r.to_dict() for r in by_role])
