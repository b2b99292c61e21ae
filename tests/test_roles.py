"""Roles from a question's text: the partners it names, in English and Dutch, and the wanted kinds."""

from __future__ import annotations

import json

import pytest

from matcher.demo import DEMO_DIR
from matcher.ranking.roles import KIND_GROUPS, derive_roles, need_text

CHALLENGES = json.loads((DEMO_DIR / "challenges.json").read_text(encoding="utf-8"))


def _roles(title: str) -> dict[str, str]:
    ch = next(c for c in CHALLENGES if c["title"] == title)
    return {r.name: r.need for r in derive_roles(f"{ch['title']}. {ch['description']}", ch["wanted_kinds"])}


@pytest.mark.parametrize("challenge", CHALLENGES, ids=[c["title"][:30] for c in CHALLENGES])
def test_every_demo_challenge_names_partners_and_covers_its_wanted_kinds(challenge: dict[str, object]) -> None:
    text = f"{challenge['title']}. {challenge['description']}"
    roles = derive_roles(text, challenge["wanted_kinds"])  # type: ignore[arg-type]
    assert any(r.derived for r in roles), "each demo challenge names at least one partner"
    wanted_groups = {g for g, kinds in KIND_GROUPS.items() if set(kinds) & set(challenge["wanted_kinds"])}  # type: ignore[arg-type]
    assert wanted_groups <= {r.name for r in roles}
    for r in roles:
        assert r.kinds and set(r.kinds) <= set(KIND_GROUPS[r.name])
        words = r.need.replace(";", ",").split()
        assert r.need and all(w.strip(",") in text for w in words), "the need is in the text's own words"
        assert len({x.name for x in roles}) == len(roles), "one role per kind group"


def test_english_clauses_become_the_needs_of_their_partners() -> None:
    roles = _roles("Closed-loop insulin delivery for adolescents with type 1 diabetes")
    assert roles["company"] == "a company with a hybrid closed-loop system or algorithm"
    assert roles["university"].startswith("a technical university to validate the algorithm in silico")


def test_dutch_clauses_become_the_needs_of_their_partners() -> None:
    roles = _roles("Revalidatie thuis met virtual reality en sensoren")
    assert roles["company"] == "een bedrijf dat serious games of VR-revalidatie ontwikkelt"
    assert roles["university"] == roles["research_institute"] == "een kennisinstelling die het effect kan meten"


def test_a_partner_named_outside_the_wanted_kinds_is_still_asked_for() -> None:
    roles = _roles("Microfluidic point-of-care test for early sepsis")
    assert roles["hospital"] == "a clinical partner for validation" and roles["company"] == "a diagnostics company"


def test_context_about_the_poser_names_no_partner() -> None:
    roles = {r.name for r in derive_roles("Radiologists in our hospital read many scans. We need an AI company.")}
    assert roles == {"company"}


def test_without_partner_clauses_the_wanted_kinds_become_roles_with_the_whole_text() -> None:
    text = "Fewer falls in nursing homes with smart floors."
    roles = derive_roles(text, ["sme", "university", "hospital"])
    assert [(r.name, r.kinds, r.need, r.derived) for r in roles] == [
        ("company", ["sme"], text, False), ("university", ["university"], text, False),
        ("hospital", ["hospital"], text, False)]
    assert derive_roles(text) == []


def test_the_need_as_a_query_says_what_not_who() -> None:
    assert need_text("a sensor company") == "a sensor"
    assert need_text("een kennisinstelling die het effect kan meten") == "een die het effect kan meten"
