"""Request and response models, named by role (Create, Update, Public, Staff)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matcher.domain import KIND_VALUES, Challenge, Organisation

Kind = Literal["startup", "sme", "large_company", "university", "research_institute", "hospital",
               "care_institution", "public_body", "other"]
Visibility = Literal["public", "members", "staff"]
Confidentiality = Literal["public", "members", "staff", "owner"]
Verdict = Literal["relevant", "not_relevant", "contacted", "partnered", "introduction"]
MAX_TEXT = 20_000


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be empty or whitespace")
    return v.strip()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationCreate(Strict):
    name: str = Field(min_length=1, max_length=300)
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
    trl_min: int | None = Field(None, ge=1, le=9)
    trl_max: int | None = Field(None, ge=1, le=9)
    visibility: Visibility = "public"
    contact: str = Field("", max_length=2000)
    notes: str = Field("", max_length=MAX_TEXT)

    _name = field_validator("name")(_not_blank)

    @field_validator("capabilities")
    @classmethod
    def _caps(cls, v: list[str]) -> list[str]:
        if any(len(c) > 200 for c in v):
            raise ValueError("each capability must be at most 200 characters")
        return [c.strip() for c in v if c.strip()]

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return v.strip().upper()


class OrganisationUpdate(Strict):
    """Fields to change; omitted fields keep their value."""

    name: str | None = Field(None, min_length=1, max_length=300)
    kind: Kind | None = None
    sme: bool | None = None
    country: str | None = Field(None, max_length=8)
    nuts: str | None = Field(None, max_length=16)
    city: str | None = Field(None, max_length=200)
    website: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=MAX_TEXT)
    capabilities: list[str] | None = Field(None, max_length=100)
    offers: str | None = Field(None, max_length=MAX_TEXT)
    seeks: str | None = Field(None, max_length=MAX_TEXT)
    trl_min: int | None = Field(None, ge=1, le=9)
    trl_max: int | None = Field(None, ge=1, le=9)
    visibility: Visibility | None = None
    contact: str | None = Field(None, max_length=2000)
    notes: str | None = Field(None, max_length=MAX_TEXT)


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
        return cls(**{k: v for k, v in org.public_dict().items() if k in cls.model_fields})


class OrganisationStaff(OrganisationPublic):
    """What cluster staff see: the public profile and the staff-only fields."""

    contact: str
    notes: str

    @classmethod
    def of(cls, org: Organisation) -> OrganisationStaff:
        return cls(**{k: v for k, v in org.public_dict().items() if k in cls.model_fields},
                   contact=org.contact, notes=org.notes)


class OrganisationsPublic(BaseModel):
    data: list[OrganisationPublic | OrganisationStaff]
    count: int


class ChallengeCreate(Strict):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    posed_by: int | None = Field(None, ge=1)
    wanted_kinds: list[Kind] = Field(default_factory=list, max_length=len(KIND_VALUES))
    region: str = Field("", max_length=16)
    instrument: str = Field("", max_length=32)
    confidentiality: Confidentiality = "public"
    status: Literal["open", "closed", "draft"] = "open"

    _title = field_validator("title", "description")(_not_blank)


class ChallengeUpdate(Strict):
    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    wanted_kinds: list[Kind] | None = Field(None, max_length=len(KIND_VALUES))
    region: str | None = Field(None, max_length=16)
    instrument: str | None = Field(None, max_length=32)
    confidentiality: Confidentiality | None = None
    status: Literal["open", "closed", "draft"] | None = None


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

    @classmethod
    def of(cls, ch: Challenge) -> ChallengePublic:
        return cls(id=ch.id or 0, title=ch.title, description=ch.description, posed_by=ch.posed_by,
                   wanted_kinds=ch.wanted_kinds, region=ch.region, instrument=ch.instrument,
                   confidentiality=ch.confidentiality, status=ch.status)


class ChallengesPublic(BaseModel):
    data: list[ChallengePublic]
    count: int


class FiltersIn(Strict):
    kinds: list[Kind] = Field(default_factory=list, max_length=len(KIND_VALUES))
    countries: list[str] = Field(default_factory=list, max_length=60)
    nuts: list[str] = Field(default_factory=list, max_length=60)
    sme: bool | None = None
    exclude_ids: list[int] = Field(default_factory=list, max_length=1000)

    @field_validator("countries", "nuts")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        if any(len(c) > 16 for c in v):
            raise ValueError("codes are at most 16 characters")
        return [c.strip().upper() for c in v if c.strip()]


class SearchIn(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    k: int = Field(10, ge=1, le=100)
    filters: FiltersIn = Field(default_factory=FiltersIn)

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


class SuggestionsPublic(BaseModel):
    data: list[SuggestionPublic]
    count: int


class FeedbackIn(Strict):
    organisation_id: int = Field(ge=1)
    verdict: Verdict
    challenge_id: int | None = Field(None, ge=1)
    query: str = Field("", max_length=MAX_TEXT)
    note: str = Field("", max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    verdict: str


class ImportReport(BaseModel):
    imported: int
    ids: list[int]
    errors: list[dict[str, Any]]
