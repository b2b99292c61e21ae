"""Feedback on suggestions, and introduction requests that cluster staff follow up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import StaffUser, StoreDep, Writer
from api.schemas import FeedbackIn, FeedbackOut
from matcher import access
from matcher.storage.keys import list_feedback, record_feedback

router = APIRouter(prefix="/v1", tags=["feedback"])


def _record(body: FeedbackIn, store: StoreDep, p: Writer) -> FeedbackOut:
    access.visible_organisation(store, p, body.organisation_id)
    if body.challenge_id is not None:
        access.visible_challenge(store, p, body.challenge_id)
    fid = record_feedback(store, p, body.organisation_id, body.verdict, body.challenge_id, body.query, body.note)
    return FeedbackOut(id=fid, verdict=body.verdict)


@router.post("/feedback", status_code=201, response_model=FeedbackOut)
def post_feedback(body: FeedbackIn, store: StoreDep, p: Writer) -> FeedbackOut:
    """Say whether a suggestion was relevant, not relevant, contacted or became a partner."""
    return _record(body, store, p)


@router.post("/introductions", status_code=201, response_model=FeedbackOut)
def request_introduction(body: FeedbackIn, store: StoreDep, p: Writer) -> FeedbackOut:
    """Ask cluster staff for an introduction to a suggested organisation."""
    return _record(body.model_copy(update={"verdict": "introduction"}), store, p)


@router.get("/feedback")
def get_feedback(store: StoreDep, _p: StaffUser, verdict: Annotated[str | None, Query(max_length=32)] = None
                 ) -> dict[str, Any]:
    rows = list_feedback(store, verdict)
    return {"data": rows, "count": len(rows)}


@router.get("/introductions")
def get_introductions(store: StoreDep, _p: StaffUser) -> dict[str, Any]:
    rows = list_feedback(store, "introduction")
    return {"data": rows, "count": len(rows)}
