"""Request and response models, named by role (Create, Update, Public, Staff).

The request models are exactly as strict as the schema they publish: pydantic's strict mode (``"sme": 0``
is not a boolean, ``"5"`` is not an integer), and each rule that spans fields is both checked by a
validator and stated in the schema (``allOf`` of ``anyOf`` branches), so generated clients and the
server agree (see :mod:`api.contract`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from api.contract import add_rule, rule_error
from matcher import access
from matcher.access import LOCAL_ADMIN, Principal
from matcher.domain import KIND_VALUES, MAX_ID, MAX_TEXT, TRL_RANGE, Challenge, Organisation, trl_in_order
from matcher.messages import Message
from matcher.ranking.roles import KIND_GROUPS, MAX_ROLES, roles_of, to_store
from matcher.storage.keys import MAX_EXPIRY_DAYS

Kind = Literal["startup", "sme", "large_company", "university", "research_institute", "hospital",
               "care_institution", "public_body", "other"]
Visibility = Literal["public", "members", "staff"]
Confidentiality = Literal["public", "members", "staff", "owner"]
Group = Literal["company", "university", "research_institute", "hospital"]  # the kind groups of roles
Verdict = Literal["relevant", "not_relevant", "contacted", "partnered", "introduction"]


def _integral(v: Any) -> Any:
    """5.0 as 5: JSON Schema counts a number with no fraction as an integer; strict pydantic would not."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


JsonInt = Annotated[int, BeforeValidator(_integral)]
# the bounds before the validator, or pydantic writes them into the schema as "ge"/"le", not "minimum"/"maximum"
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]
Trl = Annotated[int, Field(ge=TRL_RANGE[0], le=TRL_RANGE[1]), BeforeValidator(_integral)]
# In the schema too: a text must hold a character that is not whitespace in any of the regex flavours
# involved (ECMA for JSON Schema, Rust in pydantic, Python's str.isspace in _not_blank).
NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
Code = Annotated[str, Field(max_length=16)]


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError(Message("must not be empty or whitespace"))
    return v.strip()


TRL_RULE = "trl_min <= trl_max when both are given"
OWNER_RULE = "confidentiality 'owner' needs posed_by, the owning organisation"


def _trl_schema(schema: dict[str, Any]) -> None:
    # trl_min <= trl_max as "some level n lies between them"; a missing or null bound passes every branch
    add_rule(schema, TRL_RULE, [{"properties": {"trl_min": {"maximum": n}, "trl_max": {"minimum": n}}}
                                for n in range(TRL_RANGE[0], TRL_RANGE[1] + 1)])


def _check_trl(model: Any) -> Any:
    if not trl_in_order(model.trl_min, model.trl_max):
        raise rule_error("trl_min", Message("must not exceed trl_max"))
    return model


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OrganisationCreate(Strict):
    model_config = ConfigDict(json_schema_extra=_trl_schema)

    name: str = Field(min_length=1, max_length=300, pattern=NOT_BLANK)
    kind: Kind
    sme: bool = False
    country: str = Field("", max_length=8)
    nuts: str = Field("", max_length=16)
    city: str = Field("", max_length=200)
    website: str = Field("", max_length=500)
    description: str = Field("", max_length=MAX_TEXT)
    capabilities: list[str] = Field(default_factory=list, max_length=100)
    offers: str = Field("", max_length=MAX_TEXT)
    seeks: str = Field("", max_length=MAX_TEXT)
    trl_min: Trl | None = None
    trl_max: Trl | None = None
    visibility: Visibility = "public"
    contact: str = Field("", max_length=2000)
    notes: str = Field("", max_length=MAX_TEXT)

    _name = field_validator("name")(_not_blank)
    _trl = model_validator(mode="after")(_check_trl)

    @field_validator("capabilities")
    @classmethod
    def _caps(cls, v: list[str]) -> list[str]:
        if any(len(c) > 200 for c in v):
            raise ValueError(Message("each capability must be at most 200 characters"))
        return [c.strip() for c in v if c.strip()]

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return v.strip().upper()


class OrganisationUpdate(Strict):
    """Fields to change; omitted fields keep their value. ``null`` is refused, except for the TRL
    bounds, where it clears the bound (so the schema shows these fields as non-nullable). A change that
    would leave the stored profile with trl_min above trl_max is refused with 409."""

    model_config = ConfigDict(json_schema_extra=_trl_schema)

    name: str = Field(None, min_length=1, max_length=300, pattern=NOT_BLANK)
    kind: Kind = None  # type: ignore[assignment]
    sme: bool = None  # type: ignore[assignment]
    country: str = Field(None, max_length=8)
    nuts: str = Field(None, max_length=16)
    city: str = Field(None, max_length=200)
    website: str = Field(None, max_length=500)
    description: str = Field(None, max_length=MAX_TEXT)
    capabilities: list[str] = Field(None, max_length=100)
    offers: str = Field(None, max_length=MAX_TEXT)
    seeks: str = Field(None, max_length=MAX_TEXT)
    trl_min: Trl | None = None
    trl_max: Trl | None = None
    visibility: Visibility = None  # type: ignore[assignment]
    contact: str = Field(None, max_length=2000)
    notes: str = Field(None, max_length=MAX_TEXT)

    _name = field_validator("name")(_not_blank)
    _trl = model_validator(mode="after")(_check_trl)


class OrganisationPublic(BaseModel):
    id: int
    name: str
    kind: str
    sme: bool
    country: str
    nuts: str
    city: str
    website: str
    description: str
    capabilities: list[str]
    offers: str
    seeks: str
    trl_min: int | None
    trl_max: int | None
    visibility: str
    source: str
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, org: Organisation) -> OrganisationPublic:
        return cls.model_validate(org.public_dict())


class OrganisationStaff(OrganisationPublic):
    """What cluster staff see: the public profile and the staff-only fields."""

    contact: str
    notes: str

    @classmethod
    def of(cls, org: Organisation) -> OrganisationStaff:
        return cls.model_validate(access.organisation_view(LOCAL_ADMIN, org))


def organisation_out(p: Principal, org: Organisation) -> OrganisationPublic | OrganisationStaff:
    """The profile as ``p`` may read it (:func:`matcher.access.organisation_view`), as a response model."""
    view = access.organisation_view(p, org)
    return OrganisationStaff.model_validate(view) if "contact" in view else OrganisationPublic.model_validate(view)


class OrganisationsPublic(BaseModel):
    data: list[OrganisationPublic | OrganisationStaff]
    count: int


def _owner_schema(schema: dict[str, Any]) -> None:
    add_rule(schema, OWNER_RULE, [{"properties": {"confidentiality": {"not": {"const": "owner"}}}},
                                  {"required": ["posed_by"], "properties": {"posed_by": {"type": "integer"}}}])


ROLE_KINDS_RULE = "a role's kinds belong to its group"


def _role_schema(schema: dict[str, Any]) -> None:
    add_rule(schema, ROLE_KINDS_RULE, [{"properties": {"name": {"const": g}, "kinds": {"items": {"enum": list(k)}}}}
                                       for g, k in KIND_GROUPS.items()])


class RoleIn(Strict):
    """A partner the challenge asks for, as a person writes it: the kind group, what the partner should
    bring, and optionally which kinds of the group may fill it (all of the group's when omitted)."""

    model_config = ConfigDict(json_schema_extra=_role_schema)

    name: Group
    need: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK)
    kinds: list[Kind] = Field(default_factory=list, max_length=len(KIND_VALUES))

    _need = field_validator("need")(_not_blank)

    @model_validator(mode="after")
    def _kinds(self) -> RoleIn:
        if any(k not in KIND_GROUPS[self.name] for k in self.kinds):
            raise rule_error("kinds", Message("must be of the group {group}: {kinds}", group=self.name,
                                              kinds=", ".join(KIND_GROUPS[self.name])))
        return self


Roles = Annotated[list[RoleIn], Field(max_length=MAX_ROLES, description=(
    "The partners the challenge asks for, as edited by a person (stored and versioned with the challenge). "
    "Omitted or empty: derived from the text and the wanted kinds."))]


class RolePublic(BaseModel):
    name: Group
    kinds: list[str]
    need: str
    from_text: bool = Field(description="True when found in the text or written by a person, false when it "
                                        "stands for a wanted kind.")
    edited: bool = Field(description="True when a person wrote the roles (stored with the challenge).")


class ChallengeCreate(Strict):
    """A new challenge. A member poses it for its own organisation: ``posed_by`` is that organisation
    or omitted (then filled in), except that an ``owner`` challenge must name it."""

    model_config = ConfigDict(json_schema_extra=_owner_schema)

    title: str = Field(min_length=1, max_length=300, pattern=NOT_BLANK)
    description: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)
    posed_by: Id | None = None
    wanted_kinds: list[Kind] = Field(default_factory=list, max_length=len(KIND_VALUES))
    region: str = Field("", max_length=16)
    instrument: str = Field("", max_length=32)
    confidentiality: Confidentiality = "public"
    status: Literal["open", "closed", "draft"] = "open"
    roles: Roles = Field(default_factory=list)

    _title = field_validator("title", "description")(_not_blank)

    def challenge(self) -> Challenge:
        """The domain object, its roles as a challenge keeps them (None: derived from the text)."""
        return Challenge(**{**self.model_dump(), "roles": to_store(self.model_dump()["roles"])})

    @model_validator(mode="after")
    def _owner(self) -> ChallengeCreate:
        if self.confidentiality == "owner" and self.posed_by is None:
            raise rule_error("posed_by", Message("required when confidentiality is 'owner'"))
        return self


class ChallengeUpdate(Strict):
    """Fields to change; omitted fields keep their value, ``null`` is refused. Making a challenge
    without a poser ``owner``-confidential is refused with 409."""

    title: str = Field(None, min_length=1, max_length=300, pattern=NOT_BLANK)
    description: str = Field(None, min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)
    wanted_kinds: list[Kind] = Field(None, max_length=len(KIND_VALUES))
    region: str = Field(None, max_length=16)
    instrument: str = Field(None, max_length=32)
    confidentiality: Confidentiality = None  # type: ignore[assignment]
    status: Literal["open", "closed", "draft"] = None  # type: ignore[assignment]
    roles: Roles = None  # type: ignore[assignment]

    _title = field_validator("title", "description")(_not_blank)


class ChallengePublic(BaseModel):
    id: int
    title: str
    description: str
    posed_by: int | None
    wanted_kinds: list[str]
    region: str
    instrument: str
    confidentiality: str
    status: str
    roles: list[RolePublic] = Field(description="The partners the challenge asks for: as edited by a person, "
                                                "else derived from the text and the wanted kinds.")
    version: int = Field(description="1 when created, one more at every change (see .../versions).")

    @classmethod
    def of(cls, ch: Challenge) -> ChallengePublic:
        roles = [RolePublic(**r.to_dict()) for r in roles_of(ch.query_text, ch.wanted_kinds, ch.roles)]
        return cls(id=ch.id or 0, title=ch.title, description=ch.description, posed_by=ch.posed_by,
                   wanted_kinds=ch.wanted_kinds, region=ch.region, instrument=ch.instrument,
                   confidentiality=ch.confidentiality, status=ch.status, roles=roles, version=ch.version)


class ChallengeVersionPublic(BaseModel):
    version: int
    title: str
    description: str
    wanted_kinds: list[str]
    roles: list[dict[str, Any]] | None = Field(description="The roles a person wrote, null when derived.")
    saved_at: str


class ChallengeVersionsPublic(BaseModel):
    data: list[ChallengeVersionPublic]
    count: int


class ChallengesPublic(BaseModel):
    data: list[ChallengePublic]
    count: int


class FiltersIn(Strict):
    kinds: list[Kind] = Field(default_factory=list, max_length=len(KIND_VALUES))
    countries: list[Code] = Field(default_factory=list, max_length=60)
    nuts: list[Code] = Field(default_factory=list, max_length=60)
    sme: bool | None = None
    exclude_ids: list[Id] = Field(default_factory=list, max_length=1000)

    @field_validator("countries", "nuts")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return [c.strip().upper() for c in v if c.strip()]


class SearchIn(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)
    k: JsonInt = Field(10, ge=1, le=100)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    roles: bool = Field(False, description="Answer per role: the partners the text names (else one per kind in "
                                           "`filters.kinds`), each with its own suggestions in `roles`; `data` is "
                                           "then the roles interleaved.")

    _text = field_validator("text")(_not_blank)


class SuggestionOrganisation(BaseModel):
    id: int
    name: str
    kind: str
    country: str
    city: str
    nuts: str
    sme: bool
    website: str


class SuggestionPublic(BaseModel):
    organisation: SuggestionOrganisation
    rank: int
    score: float
    components: dict[str, float]
    explanation: dict[str, Any]


class RoleSuggestionsPublic(BaseModel):
    """One partner the question asks for, and the organisations suggested for it."""

    name: Group
    kinds: list[str]
    need: str = Field(description="What this partner should bring, in the question's words (the whole text when "
                                  "the role stands for a wanted kind the text does not name).")
    from_text: bool = Field(description="True when the role was found in the text, false when it stands for a "
                                        "wanted kind.")
    edited: bool = Field(False, description="True when a person wrote the roles (stored with the challenge).")
    data: list[SuggestionPublic]
    count: int


class SuggestionsPublic(BaseModel):
    data: list[SuggestionPublic]
    count: int
    roles: list[RoleSuggestionsPublic] | None = Field(
        None, description="Per role (a challenge's suggestions, or a search with `roles: true`): the partners the "
                          "question asks for, each with its own suggestions; `data` is then the roles interleaved.")


class FeedbackIn(Strict):
    organisation_id: Id
    verdict: Verdict
    challenge_id: Id | None = None
    query: str = Field("", max_length=MAX_TEXT)
    note: str = Field("", max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    verdict: str


class ImportReport(BaseModel):
    imported: int
    ids: list[int]
    errors: list[dict[str, Any]]


def _iso_date(v: Any) -> Any:
    """Only ``YYYY-MM-DD`` (RFC 3339 full-date, the schema's ``format: date``); pydantic alone would also
    read ``0`` as a Unix time."""
    if isinstance(v, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError(Message("expected a date as YYYY-MM-DD"))
        return dt.date.fromisoformat(v)
    return v


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
MEMBER_RULE = "a member key needs organisation_id, the organisation the member belongs to"
KeyRole = Literal["admin", "staff", "member", "viewer"]
ExpiryDays = Annotated[int, Field(ge=1, le=MAX_EXPIRY_DAYS), BeforeValidator(_integral)]


def _member_schema(schema: dict[str, Any]) -> None:
    add_rule(schema, MEMBER_RULE, [{"properties": {"role": {"not": {"const": "member"}}}},
                                   {"required": ["organisation_id"],
                                    "properties": {"organisation_id": {"type": "integer"}}}])


class KeyCreate(Strict):
    """A new key. It is returned once, in the answer, and never stored in clear."""

    model_config = ConfigDict(json_schema_extra=_member_schema)

    role: KeyRole
    organisation_id: Id | None = None
    label: str = Field("", max_length=200, description="A note on who holds the key.")
    expires_days: ExpiryDays | None = Field(None, description="Days until the key stops working; omitted or "
                                                             "null: never.")

    @model_validator(mode="after")
    def _member(self) -> KeyCreate:
        if self.role == "member" and self.organisation_id is None:
            raise rule_error("organisation_id", Message("required when role is 'member'"))
        return self


class KeyPublic(BaseModel):
    """A key as an admin sees it: never the key, only its first characters (``prefix``)."""

    id: int
    prefix: str
    role: str
    organisation_id: int | None
    label: str
    created_at: str
    last_used_at: str | None = Field(description="Written at most once a minute.")
    expires_at: str | None
    revoked_at: str | None
    status: Literal["active", "expired", "revoked"]


class KeysPublic(BaseModel):
    data: list[KeyPublic]
    count: int


class KeyCreated(KeyPublic):
    key: str = Field(description="The key itself: shown this once, never stored in clear.")


class AuditEntryPublic(BaseModel):
    """One change by a person: who (key, role, organisation; no key for the local admin at the command
    line), when, what (``action``), to what (``target``), and a small ``detail``."""

    id: int
    at: str
    key_id: int | None
    role: str
    organisation_id: int | None
    action: str
    target: str
    detail: dict[str, Any]


class AuditPublic(BaseModel):
    data: list[AuditEntryPublic]
    count: int
