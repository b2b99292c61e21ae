"""Domain types: what the matcher talks about, independent of storage and transport.

These are plain dataclasses. The store maps them to tables, the API to pydantic
models, the CLI to tables and JSON. Nothing here knows about SQL, HTTP or files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from matcher.errors import InvalidInput
from matcher.messages import Message


class OrgKind(str, Enum):
    """Kinds of organisation in a MedTech ecosystem."""

    STARTUP = "startup"
    SME = "sme"
    LARGE_COMPANY = "large_company"
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    HOSPITAL = "hospital"
    CARE_INSTITUTION = "care_institution"
    PUBLIC_BODY = "public_body"
    OTHER = "other"


KIND_VALUES: tuple[str, ...] = tuple(k.value for k in OrgKind)
COMPANY_KINDS: frozenset[str] = frozenset({"startup", "sme", "large_company"})

# Limits every edge applies (API schemas, web forms, file imports, the CLI's query text).
MAX_TEXT = 20_000
"""Characters in one free text: a description, offers, seeks, a query, a call text."""
MAX_ID = 2**53 - 1
"""The largest id accepted as input. Ids are database integers; a larger number is invalid input, not a
crash. 2**53 - 1 rather than the 64-bit limit: JSON clients (and schema validators) read numbers as
doubles, exact only up to 2**53."""
TRL_RANGE = (1, 9)
"""Technology readiness levels, lowest and highest."""
SUMMARY_FIELDS: tuple[str, ...] = ("id", "name", "kind", "country", "city", "nuts", "sme", "website")
"""An organisation as it appears inside a suggestion or a consortium: never contact or notes."""


class Visibility(str, Enum):
    """Who may see an organisation profile."""

    PUBLIC = "public"
    MEMBERS = "members"
    STAFF = "staff"


class Confidentiality(str, Enum):
    """Who may see a challenge: everyone, members, cluster staff, or only its owner (and staff)."""

    PUBLIC = "public"
    MEMBERS = "members"
    STAFF = "staff"
    OWNER = "owner"


def parse_kind(value: str) -> str:
    """Return the canonical kind for ``value`` or raise :class:`InvalidInput`.

    >>> parse_kind(" Hospital ")
    'hospital'
    """
    v = (value or "").strip().lower().replace(" ", "_").replace("-", "_")
    if v not in KIND_VALUES:
        raise InvalidInput(Message("unknown kind {value!r}; expected one of: {expected}", value=value,
                                   expected=", ".join(KIND_VALUES)))
    return v


@dataclass
class Organisation:
    """An organisation profile. ``id`` is None until stored.

    ``external_id`` is the key of the organisation in its source (a CORDIS PIC,
    a member-list id); importing the same source twice updates, never duplicates.
    """

    name: str
    kind: str = OrgKind.OTHER.value
    id: int | None = None
    external_id: str | None = None
    sme: bool = False
    country: str = ""
    nuts: str = ""
    city: str = ""
    website: str = ""
    description: str = ""
    capabilities: list[str] = field(default_factory=list)
    offers: str = ""
    seeks: str = ""
    trl_min: int | None = None
    trl_max: int | None = None
    visibility: str = Visibility.PUBLIC.value
    contact: str = ""  # staff-only
    notes: str = ""  # staff-only
    source: str = "manual"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def public_dict(self) -> dict[str, Any]:
        """Everything except the staff-only fields."""
        d = asdict(self)
        d.pop("contact")
        d.pop("notes")
        for key in ("created_at", "updated_at"):
            d[key] = d[key].isoformat() if d[key] else None
        return d

    def summary_dict(self) -> dict[str, Any]:
        """The few public fields (:data:`SUMMARY_FIELDS`) shown with a suggestion or a consortium member."""
        return {key: getattr(self, key) for key in SUMMARY_FIELDS}


def trl_in_order(trl_min: int | None, trl_max: int | None) -> bool:
    """Whether a TRL range is well formed: an open bound, or ``trl_min <= trl_max``.

    >>> trl_in_order(3, 6), trl_in_order(None, 2), trl_in_order(7, 4)
    (True, True, False)
    """
    return trl_min is None or trl_max is None or trl_min <= trl_max


@dataclass
class Project:
    """A past joint project; its members give evidence and the collaboration graph."""

    title: str
    objective: str = ""
    acronym: str = ""
    external_id: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    funding_scheme: str = ""
    source: str = "manual"
    id: int | None = None


@dataclass
class Challenge:
    """A healthcare challenge posed by an organisation (often a hospital)."""

    title: str
    description: str
    id: int | None = None
    external_id: str | None = None
    posed_by: int | None = None
    wanted_kinds: list[str] = field(default_factory=list)
    region: str = ""
    instrument: str = ""
    confidentiality: str = Confidentiality.PUBLIC.value
    status: str = "open"
    roles: list[dict[str, Any]] | None = None  # edited roles ({"name", "kinds", "need"}); None: from the text
    version: int = 1  # set by the store: 1 when created, one more at every save
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def query_text(self) -> str:
        """Title and description, cut to :data:`MAX_TEXT` (each may be that long; a query may not be longer)."""
        return f"{self.title}. {self.description}".strip()[:MAX_TEXT]

    @property
    def has_owner(self) -> bool:
        """Whether the challenge is well formed: an ``owner`` challenge must name its owner (``posed_by``)."""
        return self.confidentiality != Confidentiality.OWNER.value or self.posed_by is not None


@dataclass
class Filters:
    """Organisation-level filters, applied before the top-k cut-off.

    Empty lists mean "no restriction". ``nuts`` matches by prefix, so ``NL2``
    keeps NL21 and NL22.
    """

    kinds: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    nuts: list[str] = field(default_factory=list)
    sme: bool | None = None
    exclude_ids: list[int] = field(default_factory=list)


@dataclass
class Query:
    """One question to the matcher: a text, how many answers, and who may be shown.

    Attributes:
        text: the need, in English or Dutch (cleaned and length-checked by the matcher).
        k: how many organisations to return.
        filters: organisation filters, applied before the cut-off.
        visible: organisation visibility levels the caller may see (None: all).
        seed: the organisation asking ("who else?"); its ties become ranking features.
        verdicts: users' feedback on this very question, by organisation id.
        demote: look-alikes (possible competitors) shown only after the rest.
        context: the whole question when ``text`` is one part of it (a role's need): it steers
            retrieval with a lower weight, while the evidence shown is matched to ``text``.
        ties: whether the seed's past partners move up (:mod:`matcher.ranking.ties`): yes when a
            team forms around the seed, no when the question is who can do a part (a challenge,
            a role), where the evidence alone must answer.
    """

    text: str
    k: int = 10
    filters: Filters = field(default_factory=Filters)
    visible: tuple[str, ...] | None = None
    seed: int | None = None
    verdicts: dict[int, str] = field(default_factory=dict)
    demote: list[int] = field(default_factory=list)
    context: str = ""
    ties: bool = True


@dataclass
class Suggestion:
    """One ranked organisation with its score, the parts of the score and why."""

    organisation: Organisation
    rank: int
    score: float
    components: dict[str, float]
    explanation: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation.summary_dict(),
            "rank": self.rank,
            "score": round(self.score, 6),
            "components": {k: round(v, 6) for k, v in self.components.items()},
            "explanation": self.explanation,
        }
