"""The web UI in Dutch and English, in a real browser: the language follows Accept-Language, the header's
NL | EN switch keeps a choice on every page, and the main flow (sign in, search, challenge, consortium)
reads in Dutch with none of the English interface texts left over, the consortium's rule results and
reasons (library messages and the instrument files' own Dutch names) among them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.web.conftest import Site, english_leftovers, no_english_left, screenshot, sign_in, sign_in_nl

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_english_is_the_default_and_accept_language_picks_dutch(page: Page, page_nl: Page, site: Site) -> None:
    page.goto(site.url + "/signin")
    assert page.evaluate("navigator.language").startswith("en")  # Playwright's Chromium: en-US unless told
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    page_nl.goto(site.url + "/signin")
    assert page_nl.locator("html").get_attribute("lang") == "nl"
    assert page_nl.get_by_role("heading", level=1).inner_text() == "Inloggen"
    assert not english_leftovers(page_nl), english_leftovers(page_nl)


def test_the_switch_keeps_the_choice_on_every_page(page: Page, site: Site) -> None:
    sign_in(page, site, "staff")
    page.goto(site.url + "/challenges")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Nederlands").click()
    page.wait_for_url(site.url + "/challenges")  # back on the same page, now in Dutch
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Vraagstukken"
    switch = page.get_by_role("navigation", name="Taal")
    assert switch.get_by_role("link", name="Nederlands").get_attribute("aria-current") == "true"
    for path, heading in (("/", "Wie kan hierbij helpen?"), ("/consortium", "Consortium samenstellen"),
                          ("/map", "Ecosysteemkaart"), ("/introductions", "Introducties en opvolging"),
                          ("/members", "Ledenlijsten")):
        page.goto(site.url + path)
        assert page.locator("html").get_attribute("lang") == "nl", path
        assert page.get_by_role("heading", level=1).inner_text() == heading, path
    page.goto(site.url + "/?q=hartfalen")  # the query survives the switch back
    switch.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"/\?q=hartfalen$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Search").is_visible()


def test_dutch_flow_sign_in_search_challenge_consortium(page_nl: Page, site: Site) -> None:
    page = page_nl
    sign_in_nl(page, site, "staff")
    # search
    page.get_by_label("Wat zoekt u?").fill("naaldloze injectie van vaccins")
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_selector("article.result")
    assert re.search(r"\d+ organisaties? voor", page.get_by_role("heading", level=2).first.inner_text())
    card = page.locator("article.result", has_text="Twente Needle-Free BV")
    assert card.locator(".meta").inner_text().startswith("Startup")
    card.get_by_text("Waarom deze").click()
    assert "Overeenkomst in betekenis" in card.locator(".why-body").inner_text()
    assert not english_leftovers(page), english_leftovers(page)
    screenshot(page, "search-nl")
    # a challenge: create, shortlist, the page and its messages in Dutch
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Vraagstukken").click()
    page.get_by_role("link", name="Nieuw vraagstuk").click()
    assert not english_leftovers(page), english_leftovers(page)
    page.get_by_label("Titel").fill("Hartfalen thuis bewaken")
    page.get_by_label("Beschrijving").fill("Wij zoeken een draagbare ECG-sensor om patiënten met hartfalen "
                                           "thuis op afstand te volgen.")
    page.get_by_label("Ziekenhuis", exact=True).check()
    page.get_by_label("Startup", exact=True).check()
    page.get_by_role("button", name="Aanmaken en partners zoeken").click()
    page.wait_for_url(re.compile(r"/challenges/\d+\?done=created"))
    assert page.get_by_role("status").inner_text().startswith("Vraagstuk aangemaakt")
    first = page.locator("article.result h3 a").first.inner_text()
    page.get_by_role("button", name=f"{first} op de shortlist zetten").click()
    page.wait_for_url(re.compile("done=added"))
    assert page.get_by_role("status").inner_text() == "Op de shortlist gezet."
    assert page.locator("#shortlist ol.shortlist > li").count() == 1
    assert page.get_by_role("link", name="Consortium samenstellen").is_visible()
    assert not english_leftovers(page), english_leftovers(page)
    screenshot(page, "challenge-nl")
    # the consortium builder, filled in from the challenge
    page.get_by_role("link", name="Consortium samenstellen").click()
    page.get_by_label("Instrument").select_option("care-pilot")
    page.get_by_role("button", name="Team voorstellen").click()
    page.wait_for_selector(".consortium-result")
    assert page.get_by_role("heading", name="Voorgesteld team").is_visible()
    assert page.get_by_role("heading", name="Regels", exact=True).is_visible()
    # the rule results, the rule file's texts and each member's reason, in Dutch
    rules = page.locator("ul.rules")
    assert "minstens één bedrijf" in rules.inner_text()  # the rule's text_nl in data/instruments
    assert "heeft 1 ziekenhuis of zorginstelling" in rules.inner_text()  # a rule check's message
    assert "geleid door een R&D-uitvoerende organisatie" in rules.inner_text()
    reasons = page.locator("td.reason").all_inner_texts()
    assert any(r.startswith("vult de rol: bedrijf") for r in reasons), reasons  # why a member is in the team
    assert page.locator("#instrument option:checked").inner_text().startswith("Zorgpilot")
    no_english_left(page, "nl")
    screenshot(page, "consortium-nl")


def test_dutch_form_errors_are_dutch(page_nl: Page, site: Site) -> None:
    """A field the form refuses says why in Dutch: pydantic's sentence by its error type (a blank title on
    the form itself, a too long one, past the browser's maxlength, on the error page)."""
    page = page_nl
    sign_in_nl(page, site, "staff")
    page.goto(site.url + "/challenges/new")
    page.get_by_label("Titel").fill("   ")  # passes the browser's `required`, not the form
    page.get_by_label("Beschrijving").fill("Wij zoeken een draagbare ECG-sensor voor patiënten met hartfalen.")
    page.get_by_role("button", name="Aanmaken en partners zoeken").click()
    alert = page.get_by_role("alert")
    assert "titel: mag niet leeg zijn of alleen uit spaties bestaan" in alert.inner_text()
    assert "String should" not in alert.inner_text()
    no_english_left(page, "nl")
    page.locator("#title").evaluate("e => { e.removeAttribute('maxlength'); e.value = 'x'.repeat(301); }")
    page.get_by_role("button", name="Aanmaken en partners zoeken").click()
    page.wait_for_load_state()
    body = page.locator("main").inner_text()
    assert "titel: mag hoogstens 300 tekens bevatten" in body, body
    assert "String should" not in body
    no_english_left(page, "nl")
    # the consortium form: a team size that is not a number
    page.goto(site.url + "/consortium")
    page.get_by_label("Tekst van de call of het vraagstuk").fill("Wij zoeken een draagbare ECG-sensor.")
    page.get_by_label("Teamgrootte").fill("drie")
    page.get_by_role("button", name="Team voorstellen").click()
    assert "teamgrootte: 'drie' is geen geheel getal" in page.get_by_role("alert").inner_text()
    no_english_left(page, "nl")
