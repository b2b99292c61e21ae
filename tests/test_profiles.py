"""Profiles: completeness by hand-computed cases, and who may change what, on a real SQLite store."""

from __future__ import annotations

from dataclasses import replace

import pytest

from matcher.access import Principal, Role
from matcher.domain import Organisation
from matcher.errors import Conflict, Forbidden, NotFound
from matcher.profiles import (
    SHORT_DESCRIPTION,
    WEIGHTS,
    completeness,
    incomplete_profiles,
    parse_capabilities,
    update_profile,
)
from matcher.storage.store import Store

FULL = Organisation("Full BV", kind="startup", description="x" * SHORT_DESCRIPTION, offers="Test rigs",
                    capabilities=["imaging"], seeks="A hospital", website="https://full.example", trl_min=3)


def test_weights_sum_to_a_hundred() -> None:
    assert sum(WEIGHTS.values()) == 100


def test_a_full_profile_is_complete_and_an_empty_one_has_nothing() -> None:
    assert completeness(FULL).percent == 100 and completeness(FULL).missing == ()
    empty = completeness(Organisation("Empty BV", capabilities=["  "], offers="  "))
    assert empty.percent == 0
    assert empty.missing == ("description", "offers", "capabilities", "seeks", "website", "trl")


def test_hand_computed_partial_profile() -> None:
    org = Organisation("Half BV", description="Short.", seeks="A lab", trl_max=6)
    # description short: 30 - 15; seeks 15; trl 10 -> 40
    assert completeness(org).percent == 40
    assert completeness(org).missing == ("description_short", "offers", "capabilities", "website")


def test_parse_capabilities_splits_trims_and_deduplicates() -> None:
    assert parse_capabilities(" MRI ,  deep   learning\n\nmri;clinical validation | ") == [
        "MRI", "deep learning", "clinical validation"]
    assert parse_capabilities("") == []


@pytest.fixture
def two(store: Store) -> tuple[Store, int, int]:
    a, b = store.upsert_organisations([
        Organisation("Own BV", kind="startup", description="Wearables.", contact="c@own.example", notes="n"),
        Organisation("Other BV", kind="sme", description="Imaging.")])
    return store, a, b


def test_member_changes_its_own_profile_but_not_staff_fields(two: tuple[Store, int, int]) -> None:
    store, a, _b = two
    member = Principal(Role.MEMBER, a, 1)
    org = update_profile(store, member, a, {"offers": "Patch sensors", "contact": "hijack@x", "notes": "",
                                            "visibility": "members"})
    assert org.offers == "Patch sensors" and org.visibility == "members"
    assert org.contact == "c@own.example" and org.notes == "n"  # left as they were
    texts = {e["source"]: e["text"] for e in store.evidence_of(a)}
    assert texts["offers"] == "Patch sensors"  # the evidence search embeds follows in the same write


def test_member_may_not_hide_from_everyone_nor_undo_staff_hiding(two: tuple[Store, int, int]) -> None:
    store, a, _b = two
    member, staff = Principal(Role.MEMBER, a, 1), Principal(Role.STAFF, None, 2)
    assert update_profile(store, member, a, {"visibility": "staff"}).visibility == "public"
    assert update_profile(store, staff, a, {"visibility": "staff"}).visibility == "staff"
    assert update_profile(store, member, a, {"visibility": "public"}).visibility == "staff"


def test_who_may_edit(two: tuple[Store, int, int]) -> None:
    store, a, b = two
    with pytest.raises(Forbidden):
        update_profile(store, Principal(Role.MEMBER, a, 1), b, {"offers": "x"})
    with pytest.raises(Forbidden):
        update_profile(store, Principal(Role.VIEWER, None, 3), a, {"offers": "x"})
    with pytest.raises(NotFound):
        update_profile(store, Principal(Role.STAFF), 999_999, {"offers": "x"})
    assert store.get_organisation(b).offers == ""
    assert update_profile(store, Principal(Role.STAFF), b, {"contact": "s@other.example"}).contact == "s@other.example"


def test_trl_range_upside_down_is_a_conflict_and_nothing_is_stored(two: tuple[Store, int, int]) -> None:
    store, a, _b = two
    staff = Principal(Role.STAFF)
    update_profile(store, staff, a, {"trl_max": 4})
    with pytest.raises(Conflict):
        update_profile(store, staff, a, {"trl_min": 6, "offers": "not stored"})
    org = store.get_organisation(a)
    assert (org.trl_min, org.trl_max, org.offers) == (None, 4, "")


def test_incomplete_profiles_emptiest_first_without_cordis_or_complete_ones(store: Store) -> None:
    half, empty, full, cordis = store.upsert_organisations([
        Organisation("B Half BV", description="Short.", seeks="A lab", trl_max=6),
        Organisation("A Empty BV", capabilities=["x"]),
        replace(FULL),  # a copy: storing sets its id, and the test runs once per database
        Organisation("Cordis Lab", description="", source="cordis")])
    found = incomplete_profiles(store)
    assert [(o.id, c.percent) for o, c in found] == [(empty, 15), (half, 40)]
    assert [o.id for o, _c in incomplete_profiles(store, limit=1)] == [empty]
