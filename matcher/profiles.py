"""Organisation profiles as their owners keep them: changing one, and how complete it is.

The API route (``PATCH /v1/organisations/{id}``) and the profile form in the browser both call
:func:`update_profile`, so one rule decides who may change what. :func:`completeness` is a pure
function: an empty profile is what hides a startup without funded projects, so the pages show
what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from matcher import access
from matcher.access import Principal
from matcher.domain import Organisation, trl_in_order
from matcher.errors import Conflict, Forbidden
from matcher.messages import Message
from matcher.storage import schema as t
from matcher.storage.store import Store

SHORT_DESCRIPTION = 200
"""A description shorter than this (in characters) counts half: a sentence says little to search on."""

# What a profile needs to be found, and how much each part weighs (the weights sum to 100). The
# profile text and the offers are the evidence that search matches; capabilities and seeks steer
# partner suggestions; website and TRL help the reader judge a suggestion.
WEIGHTS: dict[str, int] = {"description": 30, "offers": 20, "capabilities": 15, "seeks": 15, "website": 10,
                           "trl": 10}


@dataclass(frozen=True)
class Completeness:
    """How complete a profile is.

    Attributes:
        percent: 0 (nothing to match on) to 100.
        missing: keys of what is missing or thin, most important first: ``description``,
            ``description_short``, ``offers``, ``capabilities``, ``seeks``, ``website``, ``trl``.
            The pages turn each key into a sentence (so the words can be translated there).
    """

    percent: int
    missing: tuple[str, ...]


def completeness(org: Organisation) -> Completeness:
    """Score a profile by what it says.

    >>> completeness(Organisation("X", description="y" * 300, offers="z", capabilities=["a"], seeks="s",
    ...                           website="x.example", trl_min=3, trl_max=6))
    Completeness(percent=100, missing=())
    >>> completeness(Organisation("X", description="Wearables."))
    Completeness(percent=15, missing=('description_short', 'offers', 'capabilities', 'seeks', 'website', 'trl'))
    """
    description = org.description.strip()
    present = {"description": bool(description), "offers": bool(org.offers.strip()),
               "capabilities": any(c.strip() for c in org.capabilities), "seeks": bool(org.seeks.strip()),
               "website": bool(org.website.strip()), "trl": org.trl_min is not None or org.trl_max is not None}
    short = bool(description) and len(description) < SHORT_DESCRIPTION
    score = sum(w for key, w in WEIGHTS.items() if present[key]) - (WEIGHTS["description"] // 2 if short else 0)
    missing = tuple(("description_short" if key == "description" and short else key)
                    for key in WEIGHTS if not present[key] or (key == "description" and short))
    return Completeness(score, missing)


def update_profile(store: Store, p: Principal, org_id: int, changes: dict[str, Any]) -> Organisation:
    """Apply ``changes`` (field -> new value) to an organisation's profile, as ``p`` may; returns it stored.

    Staff change any profile and every field; a member changes its own organisation's profile, except the
    staff-only fields, which are left as they are (:func:`matcher.access.editable_changes`). The profile's
    evidence (description, offers) follows in the same transaction, so the next search embeds and finds it.

    Raises:
        NotFound: no such organisation, or ``p`` may not see it.
        Forbidden: ``p`` may not edit this profile.
        Conflict: the change would leave ``trl_min`` above ``trl_max``.
    """
    org = access.visible_organisation(store, p, org_id)
    if not access.can_write(p) or not access.can_edit_organisation(p, org_id):
        raise Forbidden(Message("you may only edit your own organisation's profile"))
    for key, value in access.editable_changes(p, changes, org).items():
        setattr(org, key, value.strip().upper() if key == "country" else value)
    if not trl_in_order(org.trl_min, org.trl_max):
        raise Conflict(Message("trl_min: {low} would exceed trl_max {high}; change both together", low=org.trl_min,
                               high=org.trl_max))
    store.upsert_organisations([org])
    return store.get_organisation(org_id)


def parse_capabilities(text: str) -> list[str]:
    """Tags as a person types them in one box: one per line, or separated by ``,`` ``;`` or ``|``;
    trimmed, empties dropped, the first spelling of a repeated tag kept.

    >>> parse_capabilities("imaging, AI\\nclinical validation;  ; Imaging")
    ['imaging', 'AI', 'clinical validation']
    """
    out: dict[str, str] = {}
    for part in re.split(r"[\n,;|]", text):
        tag = " ".join(part.split())
        if tag:
            out.setdefault(tag.casefold(), tag)
    return list(out.values())


def incomplete_profiles(store: Store, limit: int = 50, exclude_source: str = "cordis"
                        ) -> list[tuple[Organisation, Completeness]]:
    """The least complete profiles (below 100%), emptiest first, then by name; organisations from
    ``exclude_source`` are left out (CORDIS participants are found through their projects, not a profile)."""
    with store.engine.connect() as conn:
        ids = [i for (i,) in conn.execute(select(t.organisations.c.id).where(
            t.organisations.c.source != exclude_source))]
    scored = [(o, completeness(o)) for o in store.get_organisations(ids).values()]
    scored = [(o, c) for o, c in scored if c.percent < 100]
    return sorted(scored, key=lambda x: (x[1].percent, x[0].name.lower(), x[0].id or 0))[:limit]
