"""Consortium builder: propose a team for a call under a funding instrument's rules, swap a member, re-check."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from api.contract import add_rule, rule_error, rule_responses
from api.deps import MatcherDep, Reader
from api.schemas import MAX_TEXT, NOT_BLANK, Id, Strict, SuggestionOrganisation, _integral, _not_blank
from matcher import access
from matcher.consortium import MAX_SIZE, build_consortium, swap_member
from matcher.messages import Message
from matcher.rules import INSTRUMENT_IDS, Instrument, load_instrument

router = APIRouter(prefix="/v1/consortium", tags=["consortium"])
# For the size limits in the schema; requests load their instrument afresh (country lists change with the date).
INSTRUMENTS: dict[str, Instrument] = {i: load_instrument(i) for i in INSTRUMENT_IDS}
InstrumentId = Literal[INSTRUMENT_IDS]  # type: ignore[valid-type]  # the enum of the schema


def _sizes(instrument: Instrument) -> tuple[int, int]:
    """The team sizes ``instrument`` allows (at most :data:`MAX_SIZE`)."""
    return instrument.min_size, min(instrument.max_size or MAX_SIZE, MAX_SIZE)


def _size_schema(schema: dict[str, Any]) -> None:
    add_rule(schema, "size is within the instrument's limits (see GET /v1/consortium/instruments)",
             [{"properties": {"instrument": {"const": i}, "size": {"minimum": lo, "maximum": hi}}}
              for i, (lo, hi) in ((i, _sizes(ins)) for i, ins in INSTRUMENTS.items())])


class ConsortiumIn(Strict):
    model_config = ConfigDict(json_schema_extra=_size_schema)

    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK, description="The call or challenge text.")
    instrument: InstrumentId = Field(description="The funding instrument whose rules the team must pass.")
    fixed: list[Id] = Field(default_factory=list, max_length=MAX_SIZE,
                             description="Organisations always in the team; the first one leads.")
    size: Annotated[int, Field(ge=1, le=MAX_SIZE), BeforeValidator(_integral)] | None = Field(
        None, description="Team size including fixed members.")
    exclude: list[Id] = Field(default_factory=list, max_length=1000, description="Organisations never proposed.")
    support: bool = Field(False, description="Add one service firm (project management, consulting, "
                                             "communication) as project support; it never leads.")

    _text = field_validator("text")(_not_blank)

    @model_validator(mode="after")
    def _size(self) -> ConsortiumIn:
        ins = INSTRUMENTS[self.instrument]
        lo, hi = _sizes(ins)
        if self.size is not None and self.size < lo:
            raise rule_error("size", Message("{instrument} needs at least {n} partners", instrument=ins.name, n=lo))
        if self.size is not None and self.size > hi:
            raise rule_error("size", Message("{instrument} allows at most {n} partners", instrument=ins.name, n=hi))
        return self


class SwapIn(ConsortiumIn):
    members: list[Id] = Field(min_length=1, max_length=MAX_SIZE, description="The current team, lead first.")
    remove: Id = Field(description="The member to replace by the next-best candidate.")


class ConsortiumMember(BaseModel):
    organisation: SuggestionOrganisation
    role: str
    aspects: list[str]
    fixed: bool
    relevance: float
    reason: str = Field("", description="Why it is in: the role of the call it fills ('fills the role: company "
                                        "— a company with a hybrid closed-loop system') and the rule that forced "
                                        "it in ('added to reach 50% R&D-performing SME cost'), joined by '; '; "
                                        "empty when chosen on relevance and coverage.")
    service_firm: bool = False
    fills_role: str | None = Field(None, description="The name of the role of the call this member fills.")


class ConsortiumRole(BaseModel):
    name: str = Field(description="The kind groups that may fill it, e.g. 'company' or 'university or research "
                                  "institute'.")
    groups: list[str]
    kinds: list[str]
    need: str = Field(description="What the partner should bring, in the call's words.")
    candidates: int = Field(description="Organisations that match the call and fit this role's need.")
    filled_by: int | None = Field(None, description="The member that fills it.")
    why: str = Field("", description="Why nobody fills it, when nobody does.")


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
    roles: list[ConsortiumRole] = Field(default_factory=list, description="The partners the call names, each "
                                                                          "filled first by a member when the rules "
                                                                          "leave room.")


@router.get("/instruments")
def instruments(p: Reader) -> dict[str, Any]:
    """The funding instruments, their rules and the documents they come from."""
    data = []
    for iid in INSTRUMENT_IDS:
        ins = load_instrument(iid)
        data.append({"id": ins.id, "name": ins.name, "source": ins.source, "min_size": ins.min_size,
                     "rules": [{"rule": r.id, "requirement": r.text} for r in ins.rules]})
    return {"data": data, "count": len(data)}


@router.post("", response_model=ConsortiumPublic, responses=rule_responses(
    "POST", "/v1/consortium", ("size", "Eurostars-3 (Eureka) needs at least 2 partners")))
def build(body: ConsortiumIn, matcher: MatcherDep, p: Reader) -> dict[str, Any]:
    """Propose a team that covers the call's aspects and passes the instrument's rules."""
    instrument = load_instrument(body.instrument)
    access.check_visible_organisations(matcher.store, p, body.fixed)
    c = build_consortium(matcher, body.text, instrument, body.fixed, body.size, body.exclude,
                         visible=access.visible_levels(p), support=body.support)
    return c.to_dict()


@router.post("/swap", response_model=ConsortiumPublic, responses=rule_responses("POST", "/v1/consortium/swap"))
def swap(body: SwapIn, matcher: MatcherDep, p: Reader) -> dict[str, Any]:
    """Replace one member of a team by the next-best candidate and re-check the rules."""
    instrument = load_instrument(body.instrument)
    access.check_visible_organisations(matcher.store, p, [*body.fixed, *body.members])
    c = swap_member(matcher, body.text, instrument, body.members, body.remove, body.fixed, body.exclude,
                    visible=access.visible_levels(p), support=body.support)
    return c.to_dict()
