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
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from matcher.domain import Challenge, Organisation


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
