"""Accessibility in a real browser: axe-core (bundled with axe-playwright-python, nothing fetched) on every
page, in English and Dutch, with no serious or critical violation; and the search-to-shortlist flow done
with the keyboard alone."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from matcher.domain import Challenge
from tests.web.conftest import Site, sign_in, sign_in_nl

if TYPE_CHECKING:
    from playwright.sync_api import Page

BLOCKING = ("serious", "critical")


def axe_problems(page: Page) -> list[str]:
    """The serious and critical axe-core violations of the page as it is now, one line per rule."""
    from axe_playwright_python.sync_playwright import Axe

    results: dict[str, Any] = Axe().run(page).response
    return [f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
            + "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                        for n in v["nodes"][:5])
            for v in results["violations"] if v["impact"] in BLOCKING]


def _consortium_result(page: Page, site: Site, text: str, button: str) -> None:
    page.locator("#text").fill(text)
    page.locator("#instrument").select_option("care-pilot")
    page.locator("#lead").fill(str(site.orgs["ecg"]))
    page.get_by_role("button", name=button).click()
    page.wait_for_selector(".consortium-result")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_page_has_no_serious_accessibility_violation(page: Page, page_nl: Page, site: Site,
                                                           lang: str) -> None:
    p = page if lang == "en" else page_nl
    problems: list[str] = []
    p.goto(site.url + "/signin")
    problems += axe_problems(p)
    (sign_in if lang == "en" else sign_in_nl)(p, site, "admin")
    org = site.orgs["needlefree"]
    for path in ("/?q=needle-free+injection+of+vaccines", "/?q=zzqx+nothing+matches", f"/organisations/{org}",
                 f"/organisations/{org}?partners=1#partners", f"/organisations/{org}/edit", "/challenges",
                 f"/challenges/{site.owner_challenge}", "/challenges/new", f"/challenges/{site.owner_challenge}/edit",
                 "/consortium", "/map", "/introductions", "/members", "/admin/keys", "/admin/audit", "/no-such-page"):
        p.goto(site.url + path)
        if "?q=needle" in path:
            p.locator("article.result details.why summary").first.click()  # the explanation, open
        if path == "/challenges":  # the confidential challenge's lock: an SVG beside its words, not an emoji
            assert p.locator(".tag.conf svg.icon-lock").count() >= 1
        problems += axe_problems(p)
    p.goto(site.url + "/consortium")
    _consortium_result(p, site, "Pilot of remote home monitoring of heart failure with a wearable ECG patch.",
                       "Propose a team" if lang == "en" else "Team voorstellen")
    problems += axe_problems(p)
    assert not problems, "\n".join(problems)


def _focused(page: Page) -> str:
    """The focused element's accessible text: its aria-label, else its text."""
    return page.evaluate("""() => { const e = document.activeElement;
        if (!e) return '';
        const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
        return (e.getAttribute('aria-label') || label || e.innerText || e.value || '').trim(); }""")


def tab_to(page: Page, wanted: str | re.Pattern[str], limit: int = 250, back: bool = False) -> None:
    """Press Tab (Shift+Tab with ``back``) until the focused element's text is ``wanted`` (or matches it)."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        text = _focused(page)
        if (wanted.search(text) if isinstance(wanted, re.Pattern) else text == wanted):
            return
    raise AssertionError(f"Tab never reached {wanted!r}")


def test_search_to_shortlist_with_the_keyboard_alone(page: Page, site: Site) -> None:
    cid = site.store.save_challenge(Challenge(
        "Keyboard: needle-free vaccination at the GP", "We look for a needle-free injector for vaccines.",
        posed_by=site.orgs["hospital"]))
    page.goto(site.url + "/signin")
    page.wait_for_function("document.activeElement && document.activeElement.tagName === 'INPUT'")  # autofocus applied
    page.keyboard.type(site.keys["staff"])  # the key field has the focus on arrival
    page.keyboard.press("Enter")
    page.wait_for_url(site.url + "/")
    page.wait_for_function("document.activeElement && document.activeElement.tagName === 'INPUT'")  # autofocus applied
    page.keyboard.type("needle-free injection of vaccines")  # so has the search field
    page.keyboard.press("Enter")
    page.wait_for_selector("article.result")
    tab_to(page, "Why this one")
    page.keyboard.press("Enter")
    assert page.locator("article.result details.why").first.get_attribute("open") is not None
    tab_to(page, "Challenges", back=True)  # up to the main menu
    page.keyboard.press("Enter")
    page.wait_for_url(site.url + "/challenges")
    tab_to(page, "Keyboard: needle-free vaccination at the GP")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/challenges/{cid}")
    tab_to(page, "Add Twente Needle-Free BV to the shortlist")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("done=added"))
    assert page.locator("#shortlist ol.shortlist > li").all_inner_texts()[0].startswith("Twente Needle-Free BV")
    tab_to(page, "Note on Twente Needle-Free BV")  # the note field, named by its label
    page.keyboard.type("Ask about a pilot with the GP practice")
    page.keyboard.press("Tab")
    assert _focused(page) == "Save note"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("done=noted"))
    assert page.get_by_role("status").inner_text() == "Note saved."
    assert page.locator("#shortlist textarea").first.input_value() == "Ask about a pilot with the GP practice"


EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")


def test_templates_draw_icons_as_svg_not_emoji() -> None:
    """A Chromium without emoji fonts draws an emoji as a box: icons are inline SVG (``icon`` in _macros.html)."""
    from api.web.common import HERE

    found = {p.name: EMOJI.findall(p.read_text(encoding="utf-8")) for p in (HERE / "templates").glob("*.html")}
    assert not {name: chars for name, chars in found.items() if chars}
