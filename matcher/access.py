"""Who may see and change what. Pure functions over a :class:`Principal`; the API only calls them.

Roles, from most to least trusted: ``admin``, ``staff`` (cluster staff), ``member``
(belongs to one organisation), ``viewer`` (read-only, public data), and
``anonymous`` (no key; only when public search is enabled).

* Organisation profiles: ``public`` for everyone, ``members`` for members and
  staff, ``staff`` for staff only. Staff-only fields (contact, notes) are shown
  to staff and admins only.
* Challenges: ``public`` for everyone with a key, ``members`` for members and
  staff, ``staff`` for staff, ``owner`` for the posing organisation's members
  and staff. A challenge the caller may not see does not exist for them (404).

The functions that take a store (``visible_*``, ``editable_challenge``, ``poser_of``) apply these
rules to stored records; the API routers and the web pages both call them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from matcher.domain import Challenge, Organisation
from matcher.errors import Forbidden, NotFound
from matcher.messages import Message

if TYPE_CHECKING:  # the store imports this module (through keys); only its type is needed here
    from matcher.storage.store import Store


class Role(str, Enum):
    ADMIN = "admin"
    STAFF = "staff"
    MEMBER = "member"
    VIEWER = "viewer"
    ANONYMOUS = "anonymous"


ROLES: tuple[str, ...] = ("admin", "staff", "member", "viewer")


@dataclass(frozen=True)
class Principal:
    """The caller: a role, the organisation a member belongs to, and the key's id."""

    role: Role
    org_id: int | None = None
    key_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.STAFF)


ANONYMOUS = Principal(Role.ANONYMOUS)
LOCAL_ADMIN = Principal(Role.ADMIN)  # the CLI on the operator's own machine


def visible_levels(p: Principal) -> tuple[str, ...]:
    """Organisation visibility levels the caller may see."""
    if p.is_staff:
        return ("public", "members", "staff")
    if p.role == Role.MEMBER:
        return ("public", "members")
    return ("public",)


def can_see_organisation(p: Principal, org: Organisation) -> bool:
    return org.visibility in visible_levels(p) or (p.org_id is not None and p.org_id == org.id)


def can_see_staff_fields(p: Principal) -> bool:
    return p.is_staff


def can_edit_organisation(p: Principal, org_id: int | None) -> bool:
    """Staff edit any profile; a member edits its own organisation's profile."""
    return p.is_staff or (p.role == Role.MEMBER and org_id is not None and p.org_id == org_id)


def can_see_challenge(p: Principal, ch: Challenge) -> bool:
    if p.is_staff:
        return True
    if p.role == Role.ANONYMOUS:
        return False
    if ch.confidentiality == "public":
        return True
    if ch.confidentiality == "members":
        return p.role == Role.MEMBER
    if ch.confidentiality == "owner":
        return p.role == Role.MEMBER and p.org_id is not None and p.org_id == ch.posed_by
    return False


def can_edit_challenge(p: Principal, ch: Challenge) -> bool:
    """Staff edit any challenge; a member edits the challenges its organisation posed."""
    return p.is_staff or (p.role == Role.MEMBER and p.org_id is not None and p.org_id == ch.posed_by)


def can_write(p: Principal) -> bool:
    """Viewers and anonymous callers only read."""
    return p.role in (Role.ADMIN, Role.STAFF, Role.MEMBER)


STAFF_FIELDS: tuple[str, ...] = ("contact", "notes")
"""Profile fields only staff may read and change (a member editing its own profile leaves them as they are)."""
MEMBER_VISIBILITIES: tuple[str, ...] = ("public", "members")
"""The visibilities a member may choose for its own profile. ``staff`` (hidden from every non-staff
search) is cluster staff's to set and to lift."""


def organisation_view(p: Principal, org: Organisation) -> dict[str, Any]:
    """The profile as ``p`` may read it: the public fields, and the staff-only ones for staff."""
    view = org.public_dict()
    if can_see_staff_fields(p):
        view.update({key: getattr(org, key) for key in STAFF_FIELDS})
    return view


def member_may_set_visibility(org: Organisation, value: str) -> bool:
    """Whether a member may move its profile from its visibility to ``value`` (public <-> members only)."""
    return org.visibility in MEMBER_VISIBILITIES and value in MEMBER_VISIBILITIES


def editable_changes(p: Principal, changes: dict[str, Any], org: Organisation) -> dict[str, Any]:
    """``changes`` to ``org``'s profile without what ``p`` may not set: for non-staff, the staff-only
    fields, and a visibility other than :data:`MEMBER_VISIBILITIES` (or away from ``staff``)."""
    if can_see_staff_fields(p):
        return dict(changes)
    return {k: v for k, v in changes.items() if k not in STAFF_FIELDS
            and (k != "visibility" or member_may_set_visibility(org, v))}


def visible_organisation(store: Store, p: Principal, org_id: int) -> Organisation:
    """The organisation, or NotFound when it does not exist or ``p`` may not see it (the same words)."""
    org = store.get_organisations([org_id]).get(org_id)
    if org is None or not can_see_organisation(p, org):
        raise NotFound(Message("organisation {id} does not exist", id=org_id))
    return org


def check_visible_organisations(store: Store, p: Principal, ids: Iterable[int]) -> None:
    """NotFound, worded as for a missing organisation, for the first of ``ids`` that ``p`` may not see."""
    ids = list(dict.fromkeys(ids))
    found = store.get_organisations(ids)
    for oid in ids:
        if oid not in found or not can_see_organisation(p, found[oid]):
            raise NotFound(Message("organisation {id} does not exist", id=oid))


def visible_challenge(store: Store, p: Principal, challenge_id: int) -> Challenge:
    """The challenge, or the same NotFound as for a missing one when ``p`` may not see it."""
    try:
        ch = store.get_challenge(challenge_id)
    except NotFound:
        ch = None
    if ch is None or not can_see_challenge(p, ch):
        raise NotFound(Message("challenge {id} does not exist", id=challenge_id))
    return ch


def editable_challenge(store: Store, p: Principal, challenge_id: int,
                       action: str = Message("edit this challenge")) -> Challenge:
    """The challenge, if ``p`` may see it (else NotFound) and change it (else Forbidden, naming ``action``)."""
    ch = visible_challenge(store, p, challenge_id)
    if not (can_write(p) and can_edit_challenge(p, ch)):
        raise Forbidden(Message("only cluster staff or the posing organisation may {action}", action=action))
    return ch


def poser_of(store: Store, p: Principal, posed_by: int | None) -> int | None:
    """Who poses a new challenge: a member poses for its own organisation (naming another is Forbidden);
    staff may name any organisation, which must exist (NotFound otherwise)."""
    if not p.is_staff:
        if posed_by not in (None, p.org_id):
            raise Forbidden(Message("members pose challenges for their own organisation only"))
        return p.org_id
    if posed_by is not None:
        store.get_organisation(posed_by)
    return posed_by
