"""Request and response models, named by role (Create, Update, Public, Staff)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matcher.domain import KIND_VALUES, Challenge, Organisation

Kind = Literal["startup", "sme", "large_company", "university", "research_institute", "hospital",
               "care_institution", "public_body", "other"]
Visibility = Literal["public", "members", "staff"]
Confidentiality = Literal["public", "members", "staff", "owner"]
Verdict = Literal["relevant", "not_relevant", "contacted", "partnered", "introduction"]
MAX_TEXT = 20_000
# Ids are database integers; a larger number is invalid input, not a crash. 2**53 - 1 rather than the
# 64-bit limit: JSON clients (and schema validators) read numbers as doubles, exact only up to 2**53.
MAX_ID = 2**53 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# In the schema too: a text must hold a character that is not whitespace in any of the regex flavours
# involved (ECMA for JSON Schema, Rust in pydantic, Python's str.isspace in _not_blank).
NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
Code = Annotated[str, Field(max_length=16)]


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be empty or whitespace")
    return v.strip()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationCreate(Strict):
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
    """Fields to change; omitted fields keep their value. ``null`` is refused, except for the TRL
    bounds, where it clears the bound (so the schema shows these fields as non-nullable)."""

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
    trl_min: int | None = Field(None, ge=1, le=9)
    trl_max: int | None = Field(None, ge=1, le=9)
    visibility: Visibility = None  # type: ignore[assignment]
    contact: str = Field(None, max_length=2000)
    notes: str = Field(None, max_length=MAX_TEXT)

    _name = field_validator("name")(_not_blank)


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
    title: str = Field(min_length=1, max_length=300, pattern=NOT_BLANK)
    description: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)
    posed_by: Id | None = None
    wanted_kinds: list[Kind] = Field(default_factory=list, max_length=len(KIND_VALUES))
    region: str = Field("", max_length=16)
    instrument: str = Field("", max_length=32)
    confidentiality: Confidentiality = "public"
    status: Literal["open", "closed", "draft"] = "open"

    _title = field_validator("title", "description")(_not_blank)


class ChallengeUpdate(Strict):
    """Fields to change; omitted fields keep their value, ``null`` is refused."""

    title: str = Field(None, min_length=1, max_length=300, pattern=NOT_BLANK)
    description: str = Field(None, min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)
    wanted_kinds: list[Kind] = Field(None, max_length=len(KIND_VALUES))
    region: str = Field(None, max_length=16)
    instrument: str = Field(None, max_length=32)
    confidentiality: Confidentiality = None  # type: ignore[assignment]
    status: Literal["open", "closed", "draft"] = None  # type: ignore[assignment]

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


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorOut(BaseModel):
    """An error: one sentence saying what is wrong."""

    detail: str


class ValidationErrorOut(BaseModel):
    """Refused input: the fields and reasons, or one sentence for a rule that spans fields."""

    detail: list[FieldError] | str


# The error answers every route may give, so that the OpenAPI schema describes them (a 500 is a bug).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A body that cannot be parsed (not UTF-8, broken multipart)"},
    401: {"model": ErrorOut, "description": "No key, or an unknown or revoked key"},
    403: {"model": ErrorOut, "description": "The key's role may not do this"},
    404: {"model": ErrorOut, "description": "Not found, or not visible to this key"},
    409: {"model": ErrorOut, "description": "Clashes with stored data"},
    413: {"model": ErrorOut, "description": "Request body too large"},
    422: {"model": ValidationErrorOut, "description": "Invalid input: field and reason"},
}
