"""The web UI in a real browser: search, organisation, challenge with shortlist and CSV, access rules, map."""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING

from tests.web.conftest import Site, screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

def _result_names(page: Page) -> list[str]:
    return page.locator("article.result h3 a").all_inner_texts()


def test_dutch_search_finds_an_english_profile_with_highlighted_evidence(page: Page, site: Site) -> None:
    sign_in(page, site, "member_b")
    page.get_by_label("What are you looking for?").fill("naaldloze injectie van vaccins, zonder naald")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("article.result")
    names = _result_names(page)
    assert "Twente Needle-Free BV" in names[:3], names
    card = page.locator("article.result", has_text="Twente Needle-Free BV")
    assert card.locator(".meta").inner_text().startswith("Startup")
    assert "Enschede" in card.locator(".meta").inner_text()
    # "why this one" expands the explanation: evidence sentences and the parts of the score
    card.get_by_text("Why this one").click()
    assert card.locator(".why-body").is_visible()
    assert "Meaning match" in card.locator(".why-body").inner_text()
    assert card.locator(".why-body .ev-list li").count() >= 1
    assert page.locator("mark").count() >= 1  # matched terms are highlighted somewhere on the page
    screenshot(page, "search", docs=True)
    # a filter that excludes startups removes it, and an impossible filter shows an empty state
    page.get_by_label("Kind").select_option("hospital")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert "Twente Needle-Free BV" not in _result_names(page)
    page.get_by_label("Country").fill("ZZ")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("heading", name="No organisations found").is_visible()


def test_organisation_page_shows_evidence_partners_and_finds_new_partners(page: Page, site: Site) -> None:
    partners = {o: site.store.partners_of(o) for o, *_ in site.store.organisation_table()}
    org_id = max(partners, key=lambda o: len(partners[o]))  # the best-connected real organisation
    name = site.store.get_organisation(org_id).name
    sign_in(page, site, "staff")
    page.goto(f"{site.url}/organisations/{org_id}")
    assert page.get_by_role("heading", level=1).inner_text() == name
    assert page.locator(".timeline li").count() >= 1  # its projects, dated
    assert re.match(r"\d{4}-\d{2}-\d{2}", page.locator(".timeline .date").first.inner_text())
    assert page.locator(".partners-list li").count() == min(len(partners[org_id]), 30)
    page.get_by_label("Leave out past partners").check()
    page.get_by_role("button", name="Find partners").click()
    page.wait_for_selector("#partners article.result")
    found = page.locator("#partners article.result h3 a")
    ids = {int(h.split("/")[-1]) for h in (found.nth(i).get_attribute("href") or "" for i in range(found.count()))}
    assert ids and org_id not in ids
    assert not ids & set(partners[org_id])  # past partners left out
    screenshot(page, "organisation")


def test_challenge_create_shortlist_two_export_csv_and_request_introduction(page: Page, site: Site) -> None:
    sign_in(page, site, "staff")
    page.goto(site.url + "/challenges")
    page.get_by_role("link", name="New challenge").click()
    page.get_by_label("Title").fill("Thuismonitoring bij hartfalen")
    page.get_by_label("Description").fill(
        "Wij zoeken een draagbare ECG-sensor om patiënten met hartfalen thuis op afstand te monitoren, "
        "en een lab dat de zorg op afstand onderzoekt.")
    page.get_by_label("Posed by").fill(f"Oost Ziekenhuis (#{site.orgs['hospital']})")
    page.get_by_role("button", name="Create and find partners").click()
    page.wait_for_url(re.compile(r"/challenges/\d+\?done=created"))
    challenge_id = int(re.search(r"/challenges/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert page.get_by_role("status").inner_text().startswith("Challenge created")
    cards = page.locator("article.result")
    assert cards.count() >= 2
    names = cards.locator("h3 a").all_inner_texts()
    assert "Oost Ziekenhuis" not in names  # the poser is left out
    for name in names[:2]:
        page.get_by_role("button", name=f"Add {name} to the shortlist").click()
        page.wait_for_url(re.compile("done=added"))
    shortlist = page.locator("#shortlist ol.shortlist > li")
    assert shortlist.count() == 2
    page.get_by_label(f"Note on {names[0]}").fill("Call about a pilot in March")
    shortlist.first.get_by_role("button", name="Save note").click()
    page.wait_for_url(re.compile("done=noted"))
    page.get_by_role("button", name=f"Request an introduction to {names[1]}").click()
    page.wait_for_url(re.compile("done=introduction"))
    assert page.locator("article.result", has_text=names[1]).get_by_text("Introduction requested").is_visible()
    screenshot(page, "challenge", docs=True)
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export CSV").click()
    text = open(dl.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115 - a download's temp file
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == names[:2]
    assert rows[0]["note"] == "Call about a pilot in March" and rows[1]["note"] == ""
    assert {"position", "organisation_id", "kind", "country", "contact"} <= set(rows[0])
    # the introduction request reaches cluster staff
    page.goto(site.url + "/introductions")
    row = page.locator("tbody tr", has_text=names[1])
    assert row.count() >= 1 and "Thuismonitoring bij hartfalen" in row.first.inner_text()
    # the English profile of the ECG startup answers the Dutch challenge
    page.goto(f"{site.url}/challenges/{challenge_id}")
    assert "Twente Sensors BV" in page.locator("article.result h3 a").all_inner_texts()[:3]


def test_member_sees_no_staff_contact_and_no_other_owners_confidential_challenge(page: Page, site: Site) -> None:
    hospital = f"{site.url}/organisations/{site.orgs['hospital']}"
    sign_in(page, site, "staff")  # the control: staff do see both
    page.goto(hospital)
    assert page.get_by_test_id("staff-contact").inner_text() == "secret-contact@oost.example"
    page.goto(site.url + "/challenges")
    assert page.get_by_text("Codeword-owner").count() == 1
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/signin"))

    sign_in(page, site, "member_b")
    page.goto(hospital)
    assert page.get_by_role("heading", name="Oost Ziekenhuis").is_visible()
    body = page.content()
    assert "secret-contact" not in body and "board changes" not in body and "Cluster staff only" not in body
    screenshot(page, "organisation-as-member")
    page.goto(site.url + "/challenges")
    assert page.get_by_text("Codeword-owner").count() == 0
    response = page.goto(f"{site.url}/challenges/{site.owner_challenge}")
    assert response is not None and response.status == 404
    assert "Codeword" not in page.content()
    screenshot(page, "not-found")
    # the same member cannot download another organisation's shortlist either
    response = page.goto(f"{site.url}/challenges/{site.owner_challenge}/shortlist.csv")
    assert response is not None and response.status == 404
    # while the hospital's own member sees its confidential challenge
    page.context.clear_cookies()
    sign_in(page, site, "member_a")
    page.goto(f"{site.url}/challenges/{site.owner_challenge}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Codeword-owner")


def test_map_renders_points_with_hover_and_click_through(page: Page, site: Site) -> None:
    sign_in(page, site, "staff")
    page.goto(site.url + "/map")
    points = page.locator("#ecomap a.pt")
    assert points.count() >= len(site.orgs)  # East Netherlands by default: the hand-made profiles at least
    assert page.locator("#ecomap text.topic").count() >= 2
    assert page.locator("#ecomap circle").first.get_attribute("fill")
    target = page.locator('#ecomap a.pt[data-name="Twente Needle-Free BV"]')
    target.hover()
    tip = page.locator("#map-tip")
    assert tip.is_visible() and "Twente Needle-Free BV" in tip.inner_text()
    screenshot(page, "map")
    target.click()
    page.wait_for_url(f"{site.url}/organisations/{site.orgs['needlefree']}")
    page.goto(site.url + "/map?region=ZZ9")
    assert page.get_by_role("heading", name="No organisations to show").is_visible()


def test_pages_need_sign_in_and_forms_need_the_csrf_token(page: Page, site: Site) -> None:
    page.goto(site.url + "/challenges")
    assert "/signin?next=/challenges" in page.url
    screenshot(page, "signin")
    page.get_by_label("API key").fill("mk_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That key is not valid")
    sign_in(page, site, "staff")
    cookie = next(c for c in page.context.cookies() if c["name"] == "matcher_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and site.keys["staff"] not in cookie["value"]
    response = page.goto(site.url + "/no-such-page")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    # a state-changing post without the form's token is refused
    r = page.request.post(f"{site.url}/challenges/{site.owner_challenge}/shortlist",
                          form={"organisation_id": str(site.orgs["ecg"]), "csrf": "forged"})
    assert r.status == 403


def test_consortium_page_proposes_a_team_checks_rules_and_swaps_a_member(page: Page, site: Site) -> None:
    sign_in(page, site, "member_b")
    page.goto(site.url + "/consortium")
    page.get_by_label("Call or challenge text").fill(
        "Pilot of remote home monitoring of heart failure patients with a wearable ECG patch in a hospital.")
    page.get_by_label("Instrument").select_option("care-pilot")
    page.get_by_label("Lead organisation (always in the team)").fill(str(site.orgs["ecg"]))
    page.get_by_role("button", name="Propose a team").click()
    page.wait_for_selector(".consortium-result")
    members = page.locator(".consortium-result tbody tr td:first-child a").all_inner_texts()
    assert members[0] == "Twente Sensors BV" and len(members) >= 2
    assert page.locator(".rules li").count() >= 1
    screenshot(page, "consortium")
    out = members[1]
    page.get_by_role("button", name=f"Swap out {out}").click()
    page.wait_for_selector(".consortium-result")
    after = page.locator(".consortium-result tbody tr td:first-child a").all_inner_texts()
    assert after[0] == "Twente Sensors BV" and out not in after and len(after) == len(members)
