"""Profiles in a real browser: a member completes its own profile and the next search finds it; staff
edit any profile and its staff-only fields, which members never see."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from matcher.storage.keys import create_key
from tests.web.conftest import LANGS, Site, no_english_left, screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

PHRASE = "hippotherapy saddle simulator for children with cerebral palsy"
# What the member reads and types, by language; the Dutch run completes another (Dutch) organisation.
FLOW = {
    "en": {"org": "rehab", "name": "Gelderse Revalidatie Robotica BV", "phrase": PHRASE, "term": "hippotherapy",
           "search_label": "What are you looking for?", "search": "Search", "complete": "Profile {}% complete",
           "offers_hint": "Nothing under “what we offer”", "edit": "Edit profile", "contact": "Contact",
           "visibility": ["Everyone with a key", "Members and cluster staff"], "offers": "What we offer",
           "capabilities": "Capabilities", "seeks": "What we look for", "website": "Website", "trl_min": "TRL from",
           "trl_max": "TRL to", "save": "Save profile", "saved": "Profile saved",
           "offers_text": f"A {PHRASE}, and gait trainers for clinics.",
           "seeks_text": "A children's rehabilitation centre to run a pilot."},
    "nl": {"org": "rehab_nl", "name": "Achterhoekse Revalidatietechniek BV",
           "phrase": "zadelsimulator voor hippotherapie bij kinderen met cerebrale parese", "term": "hippotherapie",
           "search_label": "Wat zoekt u?", "search": "Zoeken", "complete": "Profiel {}% compleet",
           "offers_hint": "Niets ingevuld bij “wat we bieden”", "edit": "Profiel bewerken", "contact": "Contactpersoon",
           "visibility": ["Iedereen met een sleutel", "Leden en het clusterteam"], "offers": "Wat we bieden",
           "capabilities": "Expertises", "seeks": "Wat we zoeken", "website": "Website", "trl_min": "TRL van",
           "trl_max": "TRL tot", "save": "Profiel opslaan", "saved": "Profiel opgeslagen",
           "offers_text": "Een zadelsimulator voor hippotherapie bij kinderen met cerebrale parese, en loopbanden.",
           "seeks_text": "Een revalidatiecentrum voor kinderen dat een pilot wil doen."},
}


def _member_key(site: Site, org: str) -> str:
    who = f"member_{org}"
    if who not in site.keys:
        site.keys[who] = create_key(site.store, "member", site.orgs[org], label=f"web tests: {org}")
    return who


@pytest.mark.parametrize("lang", LANGS)
def test_member_completes_its_profile_and_the_next_search_finds_it(page: Page, site: Site, lang: str) -> None:
    t = FLOW[lang]
    org_id = site.orgs[t["org"]]
    sign_in(page, site, _member_key(site, t["org"]))
    page.get_by_label(t["search_label"]).fill(t["phrase"])
    page.get_by_role("button", name=t["search"]).click()
    page.wait_for_load_state()
    before = page.locator("article.result h3 a").all_inner_texts()
    assert t["name"] not in before[:1], before  # the control: not found yet

    page.goto(f"{site.url}/organisations/{org_id}")
    box = page.get_by_test_id("completeness")
    assert t["complete"].format(15) in box.inner_text()  # a one-line description only
    missing = box.locator("li[data-missing]")
    assert [missing.nth(i).get_attribute("data-missing") for i in range(missing.count())] == [
        "description_short", "offers", "capabilities", "seeks", "website", "trl"]
    assert box.locator('li[data-missing="offers"]').inner_text().startswith(t["offers_hint"])  # what to add, in words
    no_english_left(page, lang)
    page.get_by_role("link", name=t["edit"]).click()
    page.wait_for_url(f"{site.url}/organisations/{org_id}/edit")
    assert page.get_by_label(t["contact"]).count() == 0  # staff-only fields are not in a member's form
    assert page.locator("#visibility option").all_inner_texts() == t["visibility"]
    no_english_left(page, lang)
    page.get_by_label(t["offers"]).fill(t["offers_text"])
    page.get_by_label(t["capabilities"]).fill(f"exoskeletons, gait training\n{t['term']}")
    page.get_by_label(t["seeks"]).fill(t["seeks_text"])
    page.get_by_label(t["website"]).fill("https://revalidatie-robotica.example")
    page.get_by_label(t["trl_min"]).select_option("4")
    page.get_by_label(t["trl_max"]).select_option("7")
    screenshot(page, "profile-edit" + ("-nl" if lang == "nl" else ""))
    page.get_by_role("button", name=t["save"]).click()
    page.wait_for_url(f"{site.url}/organisations/{org_id}?done=saved")
    assert page.get_by_role("status").inner_text().startswith(t["saved"])
    assert t["complete"].format(85) in page.get_by_test_id("completeness").inner_text()
    assert page.locator("li[data-missing]").count() == 1  # only the short description is left
    assert "TRL 4–7" in page.locator(".profile .meta").inner_text()
    assert page.locator(".profile .tag", has_text=t["term"]).count() == 1
    no_english_left(page, lang)
    stored = site.store.get_organisation(org_id)
    assert stored.capabilities == ["exoskeletons", "gait training", t["term"]] and stored.trl_max == 7

    page.goto(site.url + "/")
    page.get_by_label(t["search_label"]).fill(t["phrase"])
    page.get_by_role("button", name=t["search"]).click()
    page.wait_for_selector("article.result")
    first = page.locator("article.result").first
    assert first.locator("h3 a").inner_text() == t["name"]
    assert t["term"] in first.locator("blockquote.evidence").inner_text().lower()


def test_member_cannot_edit_another_profile_and_bad_input_is_explained(page: Page, site: Site) -> None:
    sign_in(page, site, "member_b")  # a member of the ECG startup
    hospital = f"{site.url}/organisations/{site.orgs['hospital']}"
    page.goto(hospital)
    assert page.get_by_role("link", name="Edit profile").count() == 0
    assert page.get_by_test_id("completeness").count() == 0
    response = page.goto(hospital + "/edit")
    assert response is not None and response.status == 403
    assert "only edit your own organisation" in page.content()
    # its own form: a TRL range upside down is refused with the reason, and nothing is stored
    own = site.orgs["ecg"]
    page.goto(f"{site.url}/organisations/{own}/edit")
    page.get_by_label("TRL from").select_option("8")
    page.get_by_label("TRL to").select_option("3")
    page.get_by_label("What we offer").fill("Unsaved offer text")
    page.get_by_role("button", name="Save profile").click()
    alert = page.get_by_role("alert")
    assert "TRL: “from” (8) is higher than “to” (3)" in alert.inner_text()
    assert page.get_by_label("What we offer").input_value() == "Unsaved offer text"  # what was typed is kept
    assert site.store.get_organisation(own).offers == ""
    r = page.request.post(f"{hospital}/edit", form={"description": "hijacked", "csrf": "forged"})
    assert r.status == 403 and site.store.get_organisation(site.orgs["hospital"]).description != "hijacked"


def test_staff_edit_any_profile_with_contact_and_members_never_see_it(page: Page, site: Site) -> None:
    org_id = site.orgs["telecare"]
    sign_in(page, site, "staff")
    page.goto(f"{site.url}/organisations/{org_id}/edit")
    assert page.get_by_label("Name").input_value() == "Nijmegen Telecare Labs"
    page.get_by_label("City").fill("Lent")
    page.get_by_label("Kind").select_option("university")
    page.get_by_label("Contact").fill("dr-telecare-contact@nijmegen.example")
    page.get_by_label("Notes").fill("staff-note-telecare: met at Health Valley event")
    assert page.locator("#visibility option").count() == 3
    page.get_by_role("button", name="Save profile").click()
    page.wait_for_url(re.compile(r"done=saved"))
    assert page.get_by_test_id("staff-contact").inner_text() == "dr-telecare-contact@nijmegen.example"
    assert page.locator(".profile .meta").inner_text().startswith("University")
    assert "Lent" in page.locator(".profile .meta").inner_text()
    stored = site.store.get_organisation(org_id)
    assert (stored.kind, stored.city, stored.country, stored.nuts) == ("university", "Lent", "NL", "NL226")
    page.context.clear_cookies()
    sign_in(page, site, "member_b")
    page.goto(f"{site.url}/organisations/{org_id}")
    body = page.content()
    assert "dr-telecare-contact" not in body and "staff-note-telecare" not in body
