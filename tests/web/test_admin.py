"""Admin pages in a real browser: keys made, shown once and revoked; the audit log; the one-time sign-in link."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from matcher.cli_admin import signin_link
from matcher.config import Settings
from tests.conftest import TEST_MODEL
from tests.web.conftest import Site, screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def _api(site: Site, key: str, path: str) -> int:
    return httpx.get(site.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code


def test_admin_makes_a_member_key_sees_it_once_and_revokes_it(page: Page, browser: Browser, site: Site) -> None:
    sign_in(page, site, "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys").click()
    page.wait_for_url(site.url + "/admin/keys")
    page.get_by_label("Role").select_option("member")
    page.get_by_label("Organisation").fill(f"Twente Sensors BV (#{site.orgs['ecg']})")
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_label("Label").fill("Browser test: Twente Sensors CEO")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("Key", exact=True).input_value()
    assert key.startswith("mk_") and page.get_by_text("it is not shown again").is_visible()
    row = page.locator("tr", has_text="Browser test: Twente Sensors CEO")
    assert row.get_by_text("active").is_visible() and row.get_by_text("Twente Sensors BV").is_visible()
    screenshot(page, "admin-keys")
    assert _api(site, key, f"/v1/organisations/{site.orgs['ecg']}") == 200

    member = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()  # the key's holder, signed in
    member.goto(site.url + "/signin")
    member.get_by_label("API key").fill(key)
    member.get_by_role("button", name="Sign in").click()
    member.wait_for_url(site.url + "/")

    page.goto(site.url + "/admin/keys")  # the key is not on the page any more: shown once
    assert key not in page.content()
    row = page.locator("tr", has_text="Browser test: Twente Sensors CEO")
    row.get_by_role("button", name="Revoke").click()
    assert page.get_by_role("status").inner_text().startswith("Key revoked")
    assert page.locator("tr", has_text="Browser test: Twente Sensors CEO").get_by_text("revoked").is_visible()
    assert _api(site, key, f"/v1/organisations/{site.orgs['ecg']}") == 401  # at once
    member.goto(site.url + "/challenges")
    assert "/signin" in member.url  # its browser session ended with it
    member.context.close()


def test_the_audit_log_shows_who_changed_what(page: Page, site: Site) -> None:
    sign_in(page, site, "member_a")
    page.goto(site.url + "/challenges/new")
    page.get_by_label("Title").fill("Audit trail: fall detection at home")
    page.get_by_label("Description").fill("Sensors that detect falls of elderly people living alone.")
    page.get_by_role("button", name="Create and find partners").click()
    page.wait_for_url("**/challenges/*?done=created")
    cid = page.url.split("/challenges/")[1].split("?")[0]
    page.context.clear_cookies()

    sign_in(page, site, "admin")
    page.get_by_role("link", name="Audit log").click()
    row = page.locator("tr", has_text=f"challenge:{cid}")
    assert row.get_by_text("challenge.create").is_visible() and row.get_by_text("member key #").is_visible()
    assert row.get_by_text(f"(organisation #{site.orgs['hospital']})").is_visible()
    assert "Audit trail: fall detection at home" in row.inner_text()
    screenshot(page, "admin-audit")
    page.get_by_label("Action").fill("key.revoke")
    page.get_by_role("button", name="Show").click()
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
