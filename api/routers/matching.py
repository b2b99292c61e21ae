"""Free-text search."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import MatcherDep, Reader
from api.schemas import SearchIn, SuggestionsPublic
from matcher import access
from matcher.domain import Filters
from matcher.queries import search_by_role, text_query

router = APIRouter(prefix="/v1", tags=["matching"])


@router.post("/search", response_model=SuggestionsPublic)
def search(body: SearchIn, matcher: MatcherDep, p: Reader) -> SuggestionsPublic:
    """Rank organisations for a need written in English or Dutch."""
    query = text_query(matcher, body.text, body.k, Filters(**body.filters.model_dump()), access.visible_levels(p))
    if not body.roles:
        found = matcher.search(query)
        return SuggestionsPublic(data=[s.to_dict() for s in found], count=len(found))  # type: ignore[misc]
    found, by_role = search_by_role(matcher, query)
    return SuggestionsPublic(data=[s.to_dict() for s in found], count=len(found),  # type: ignore[misc]
                             roles=[r.to_dict() for r in by_role])
