"""Consortium builder: propose a team for a call under a funding instrument's rules, swap a member, re-check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from api.deps import MatcherDep, Reader
from api.schemas import MAX_TEXT, NOT_BLANK, Id, Strict, SuggestionOrganisation, _not_blank
from matcher import access
from matcher.access import Principal
from matcher.consortium import MAX_SIZE, build_consortium, swap_member
from matcher.errors import NotFound
from matcher.rules import INSTRUMENT_IDS, load_instrument
from matcher.storage.store import Store

router = APIRouter(prefix="/v1/consortium", tags=["consortium"])


class ConsortiumIn(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK, description="The call or challenge text.")
    instrument: str = Field(min_length=1, max_length=40, description=f"One of: {', '.join(INSTRUMENT_IDS)}.")
    fixed: list[Id] = Field(default_factory=list, max_length=MAX_SIZE,
                             description="Organisations always in the team; the first one leads.")
    size: int | None = Field(None, ge=1, le=MAX_SIZE, description="Team size including fixed members.")
    exclude: list[Id] = Field(default_factory=list, max_length=1000, description="Organisations never proposed.")
    support: bool = Field(False, description="Add one service firm (project management, consulting, "
                                             "communication) as project support; it never leads.")

    _text = field_validator("text")(_not_blank)


class SwapIn(ConsortiumIn):
    members: list[Id] = Field(min_length=1, max_length=MAX_SIZE, description="The current team, lead first.")
    remove: Id = Field(description="The member to replace by the next-best candidate.")


class ConsortiumMember(BaseModel):
    organisation: SuggestionOrganisation
    role: str
    aspects: list[str]
    fixed: bool
    relevance: float
    reason: str = Field("", description="The rule that forced this member in, e.g. 'added to reach 50% "
                                        "R&D-performing SME cost'; empty when chosen on relevance and coverage.")
    service_firm: bool = False


class RuleCheck(BaseModel):
    rule: str
    passed: bool
    message: str
    requirement: str


class UnmetRule(BaseModel):
    rule: str
    why: str


class ConsortiumPublic(BaseModel):
    members: list[ConsortiumMember]
    uncovered: list[str]
    rules: list[RuleCheck]
    eligible: bool
    instrument: dict[str, Any]
    aspects: list[str]
    coverage: float
    unmet: list[UnmetRule] = Field(default_factory=list, description="Rules no team can meet, and why.")
    method: str = Field("solver", description="solver (rules as constraints) or greedy (the fallback).")


def _visible(store: Store, p: Principal, ids: list[int]) -> None:
    """NotFound, worded as for a missing organisation, for any id the caller may not see."""
    found = store.get_organisations(ids)
    for oid in ids:
        if oid not in found or not access.can_see_organisation(p, found[oid]):
            raise NotFound(f"organisation {oid} does not exist")


@router.get("/instruments")
def instruments(p: Reader) -> dict[str, Any]:
    """The funding instruments, their rules and the documents they come from."""
    data = []
    for iid in INSTRUMENT_IDS:
        ins = load_instrument(iid)
        data.append({"id": ins.id, "name": ins.name, "source": ins.source, "min_size": ins.min_size,
                     "rules": [{"rule": r.id, "requirement": r.text} for r in ins.rules]})
    return {"data": data, "count": len(data)}


@router.post("", response_model=ConsortiumPublic)
def build(body: ConsortiumIn, matcher: MatcherDep, p: Reader) -> dict[str, Any]:
    """Propose a team that covers the call's aspects and passes the instrument's rules."""
    instrument = load_instrument(body.instrument)
    _visible(matcher.store, p, body.fixed)
    c = build_consortium(matcher, body.text, instrument, body.fixed, body.size, body.exclude,
                         visible=access.visible_levels(p), support=body.support)
    return c.to_dict()


@router.post("/swap", response_model=ConsortiumPublic)
def swap(body: SwapIn, matcher: MatcherDep, p: Reader) -> dict[str, Any]:
    """Replace one member of a team by the next-best candidate and re-check the rules."""
    instrument = load_instrument(body.instrument)
    _visible(matcher.store, p, list(dict.fromkeys([*body.fixed, *body.members])))
    c = swap_member(matcher, body.text, instrument, body.members, body.remove, body.fixed, body.exclude,
                    visible=access.visible_levels(p), support=body.support)
    return c.to_dict()
