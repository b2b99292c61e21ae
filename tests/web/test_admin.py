"""Admin pages in a real browser: keys made, shown once and revoked; the audit log; the one-time sign-in link."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import pytest

from matcher.cli_admin import signin_link
from matcher.config import Settings
from tests.conftest import TEST_MODEL
from tests.web.conftest import BROWSER_LOCALE, LANGS, Site, no_english_left, screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


# What an admin reads and clicks, by language
FLOW = {
    "en": {"main": "Main", "keys": "Keys", "role": "Role", "org": "Organisation", "expires": "Expires after (days)",
           "label": "Label", "create": "Create key", "key": "Key", "once": "it is not shown again", "active": "active",
           "revoke": "Revoke", "revoked_status": "Key revoked", "revoked": "revoked", "title": "Title",
           "description": "Description", "create_challenge": "Create and find partners", "audit": "Audit log",
           "action": "Action", "show": "Show", "who": r"member key #\d+ \(organisation #{}\)"},
    "nl": {"main": "Hoofdmenu", "keys": "Sleutels", "role": "Rol", "org": "Organisatie",
           "expires": "Verloopt na (dagen)", "label": "Omschrijving", "create": "Sleutel aanmaken", "key": "Sleutel",
           "once": "hij wordt niet opnieuw getoond", "active": "actief", "revoke": "Intrekken",
           "revoked_status": "Sleutel ingetrokken", "revoked": "ingetrokken", "title": "Titel",
           "description": "Beschrijving", "create_challenge": "Aanmaken en partners zoeken", "audit": "Logboek",
           "action": "Actie", "show": "Tonen", "who": r"sleutel #\d+ \(lid, organisatie #{}\)"},
}


def _api(site: Site, key: str, path: str) -> int:
    return httpx.get(site.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code


@pytest.mark.parametrize("lang", LANGS)
def test_admin_makes_a_member_key_sees_it_once_and_revokes_it(page: Page, browser: Browser, site: Site,
                                                              lang: str) -> None:
    t = FLOW[lang]
    label = f"Browser test ({lang}): Twente Sensors CEO"
    sign_in(page, site, "admin")
    page.get_by_role("navigation", name=t["main"]).get_by_role("link", name=t["keys"]).click()
    page.wait_for_url(site.url + "/admin/keys")
    no_english_left(page, lang)
    page.get_by_label(t["role"]).select_option("member")
    page.get_by_label(t["org"]).fill(f"Twente Sensors BV (#{site.orgs['ecg']})")
    page.get_by_label(t["expires"]).fill("30")
    page.get_by_label(t["label"]).fill(label)
    page.get_by_role("button", name=t["create"]).click()
    key = page.get_by_label(t["key"], exact=True).input_value()
    assert key.startswith("mk_") and page.get_by_text(t["once"]).is_visible()
    row = page.locator("tr", has_text=label)
    assert row.get_by_text(t["active"], exact=True).is_visible() and row.get_by_text("Twente Sensors BV").is_visible()
    no_english_left(page, lang)
    screenshot(page, "admin-keys" + ("-nl" if lang == "nl" else ""))
    assert _api(site, key, f"/v1/organisations/{site.orgs['ecg']}") == 200

    member = browser.new_context(viewport={"width": 1280, "height": 900}, locale=BROWSER_LOCALE[lang]).new_page()
    site.keys[f"new_{lang}"] = key
    sign_in(member, site, f"new_{lang}")  # the key's holder, signed in

    page.goto(site.url + "/admin/keys")  # the key is not on the page any more: shown once
    assert key not in page.content()
    row = page.locator("tr", has_text=label)
    row.get_by_role("button", name=t["revoke"]).click()
    assert page.get_by_role("status").inner_text().startswith(t["revoked_status"])
    assert page.locator("tr", has_text=label).get_by_text(t["revoked"], exact=True).is_visible()
    no_english_left(page, lang)
    assert _api(site, key, f"/v1/organisations/{site.orgs['ecg']}") == 401  # at once
    member.goto(site.url + "/challenges")
    assert "/signin" in member.url  # its browser session ended with it
    member.context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_audit_log_shows_who_changed_what(page: Page, site: Site, lang: str) -> None:
    t = FLOW[lang]
    title = f"Audit trail ({lang}): fall detection at home"
    sign_in(page, site, "member_a")
    page.goto(site.url + "/challenges/new")
    page.get_by_label(t["title"]).fill(title)
    page.get_by_label(t["description"]).fill("Sensors that detect falls of elderly people living alone.")
    page.get_by_role("button", name=t["create_challenge"]).click()
    page.wait_for_url("**/challenges/*?done=created")
    cid = page.url.split("/challenges/")[1].split("?")[0]
    page.context.clear_cookies()

    sign_in(page, site, "admin")
    page.get_by_role("link", name=t["audit"]).click()
    row = page.locator("tr", has_text=f"challenge:{cid}")
    assert row.get_by_text("challenge.create").is_visible()
    assert re.fullmatch(t["who"].format(site.orgs["hospital"]), row.locator("td").nth(1).inner_text())  # in words
    assert title in row.inner_text()
    no_english_left(page, lang)
    screenshot(page, "admin-audit" + ("-nl" if lang == "nl" else ""))
    page.get_by_label(t["action"]).fill("key.revoke")
    page.get_by_role("button", name=t["show"]).click()
    assert page.locator("tr", has_text=f"challenge:{cid}").count() == 0


def test_only_admins_see_the_admin_pages_and_their_forms_need_the_token(page: Page, site: Site) -> None:
    sign_in(page, site, "staff")
    assert page.get_by_role("link", name="Keys").count() == 0
    for path in ("/admin/keys", "/admin/audit"):
        response = page.goto(site.url + path)
        assert response is not None and response.status == 403
    r = page.request.post(site.url + "/admin/keys", form={"role": "admin", "csrf": "forged"})
    assert r.status == 403
    page.context.clear_cookies()
    sign_in(page, site, "admin")
    r = page.request.post(site.url + "/admin/keys", form={"role": "admin", "csrf": "forged"})
    assert r.status == 403 and "mk_" not in r.text()


def test_the_printed_sign_in_link_signs_in_once(page: Page, browser: Browser, site: Site) -> None:
    host, port = site.url.removeprefix("http://").split(":")
    settings = Settings(home=site.home, model=TEST_MODEL, database_url=site.store.url)  # type: ignore[call-arg]
    link = signin_link(settings, host, int(port))  # what `matcher serve` prints
    assert link is not None
    page.goto(link)
    page.wait_for_url(site.url + "/")  # one click: on the search page, signed in as the local admin
    assert page.locator(".who .role").inner_text().startswith("admin")
    assert page.get_by_role("link", name="Keys").is_visible()
    again = browser.new_context().new_page()
    response = again.goto(link)
    assert response is not None and response.status == 401
    assert "already used" in again.get_by_role("alert").inner_text()
    again.context.close()
