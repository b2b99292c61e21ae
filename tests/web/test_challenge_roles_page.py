"""The poser edits the partners its challenge asks for, in the browser; the suggestions follow."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from matcher.domain import Challenge
from tests.web.conftest import Site, sign_in


def test_poser_sets_roles_by_hand_and_goes_back_to_roles_from_the_text(page: Page, site: Site) -> None:
    cid = site.store.save_challenge(Challenge(
        "Hartfalen thuis volgen",
        "Wij zoeken een bedrijf met een draagbare ECG-sensor, en een ziekenhuis voor een pilot.",
        posed_by=site.orgs["hospital"], wanted_kinds=["startup", "sme", "hospital"]))
    sign_in(page, site, "member_a")
    page.goto(f"{site.url}/challenges/{cid}")
    assert page.locator("section.role > h3").all_inner_texts() == ["Company", "Hospital or care institution"]
    page.goto(f"{site.url}/challenges/{cid}/edit")
    assert page.get_by_label("Role 1").input_value() == "company"  # the derived roles, ready to change
    page.get_by_label("Use the roles below").check()
    for i in range(2, 5):
        page.get_by_label(f"Role {i}", exact=True).select_option("")
        page.get_by_label("What it should bring").nth(i - 1).fill("")
    page.get_by_label("Role 1", exact=True).select_option("research_institute")
    page.get_by_label("What it should bring").first.fill("onderzoek naar zelfmanagement bij hartfalen")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"done=saved"))
    section = page.locator("section.role")
    assert section.locator("> h3").all_inner_texts() == ["Research institute"]
    assert "roles set by hand" in section.first.inner_text()
    assert "Nijmegen Telecare Labs" in section.first.locator("article.result h3 a").all_inner_texts()
    assert site.store.get_challenge(cid).roles == [
        {"name": "research_institute", "kinds": ["research_institute"],
         "need": "onderzoek naar zelfmanagement bij hartfalen"}]

    # ticked with no role: refused with a message, nothing saved
    page.goto(f"{site.url}/challenges/{cid}/edit")
    for i in range(1, 4):
        page.get_by_label(f"Role {i}", exact=True).select_option("")
        page.get_by_label("What it should bring").nth(i - 1).fill("")
    page.get_by_role("button", name="Save changes").click()
    assert "at least one role" in page.get_by_role("alert").inner_text()
    assert site.store.get_challenge(cid).roles is not None

    # unticked: the roles come from the text again
    page.goto(f"{site.url}/challenges/{cid}/edit")
    page.get_by_label("Use the roles below").uncheck()
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"done=saved"))
    assert site.store.get_challenge(cid).roles is None
    assert page.locator("section.role > h3").all_inner_texts() == ["Company", "Hospital or care institution"]
    assert [v["version"] for v in site.store.challenge_versions(cid)] == [1, 2, 3]
