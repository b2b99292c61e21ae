"""Verdicts in a real browser: on search results and on a challenge's suggestions, re-ranking the same question;
the introductions page as the staff's follow-up list (requested, contacted, partnered: when and by whom)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from matcher.domain import Challenge
from matcher.storage.keys import create_key, list_feedback
from tests.web.conftest import LANGS, Site, no_english_left, screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

QUESTION = "remote monitoring of heart failure patients at home"
# What the member and staff read and click on a challenge and the follow-up list, by language
FLOW = {
    "en": {"request": "Request an introduction to {}", "verdict_group": "Your verdict on {}", "contacted": "Contacted",
           "saved": "Verdict saved", "recorded": "Recorded: Contacted", "nav": "Introductions",
           "asked_by": "member of Twente Sensors BV", "recorded_by": "staff “web tests”",
           "partnered": "Mark {} as partnered"},
    "nl": {"request": "Introductie bij {} aanvragen", "verdict_group": "Uw oordeel over {}", "contacted": "Benaderd",
           "saved": "Oordeel opgeslagen", "recorded": "Vastgelegd: Benaderd", "nav": "Introducties",
           "asked_by": "lid van Twente Sensors BV", "recorded_by": "clusterteam “web tests”",
           "partnered": "{} markeren als partner geworden"},
}


def _names(page: Page) -> list[str]:
    return page.locator("article.result h3 a").all_inner_texts()


def _verdict(page: Page, name: str, label: str, lang: str = "en") -> Locator:
    """The verdict button ``label`` in the group for organisation ``name`` (the first card naming it)."""
    group = page.get_by_role("group", name=FLOW[lang]["verdict_group"].format(name), exact=True).first
    return group.get_by_role("button", name=label, exact=True)


def _search(page: Page, text: str) -> None:
    page.get_by_label("What are you looking for?").fill(text)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector("article.result")


def test_verdicts_on_search_results_reorder_the_same_question(page: Page, site: Site) -> None:
    sign_in(page, site, "member_b")
    _search(page, QUESTION)
    before = _names(page)
    assert len(before) >= 3
    second, first = before[1], before[0]
    links = page.locator("article.result h3 a")
    ids = {links.nth(i).inner_text(): int((links.nth(i).get_attribute("href") or "").rsplit("/", 1)[-1])
           for i in range(2)}
    _verdict(page, second, "Relevant").click()
    page.wait_for_url(re.compile(r"done=verdict"))
    assert page.get_by_role("status").inner_text().startswith("Verdict saved")
    after = _names(page)
    assert after[0] == second  # judged relevant: first for this question from now on
    card = page.locator("article.result", has_text=second)
    assert _verdict(page, second, "Relevant").get_attribute("aria-pressed") == "true"
    assert _verdict(page, second, "Not relevant").get_attribute("aria-pressed") == "false"
    assert "Recorded: Relevant" in card.locator(".recorded").inner_text()
    _verdict(page, first, "Not relevant").click()
    page.wait_for_url(re.compile(r"done=verdict"))
    assert first not in _names(page)[:-1]  # judged not relevant: after every other candidate (or cut off)
    screenshot(page, "search-verdicts")
    rows = [r for r in list_feedback(site.store) if r["query"] == QUESTION]
    assert {(r["verdict"], r["organisation_id"]) for r in rows} == {("relevant", ids[second]),
                                                                    ("not_relevant", ids[first])}

    # another member asking the same question sees its own verdicts only (none), a viewer no buttons at all
    page.context.clear_cookies()
    sign_in(page, site, "member_a")
    _search(page, QUESTION)
    assert page.locator(".verdicts [aria-pressed=true]").count() == 0
    page.context.clear_cookies()
    site.keys.setdefault("viewer", create_key(site.store, "viewer", label="web tests viewer"))
    sign_in(page, site, "viewer")
    _search(page, QUESTION)
    assert page.get_by_test_id("verdicts").count() == 0


@pytest.mark.parametrize("lang", LANGS)
def test_challenge_verdicts_and_the_follow_up_list(page: Page, site: Site, lang: str) -> None:
    t = FLOW[lang]
    title = f"Follow-up ({lang}): valpreventie thuis"
    cid = site.store.save_challenge(Challenge(
        title, "Sensors and coaching that prevent falls of older people living at home.",
        posed_by=site.orgs["hospital"]))
    sign_in(page, site, "member_b")
    page.goto(f"{site.url}/challenges/{cid}")
    target = _names(page)[0]
    page.get_by_role("button", name=t["request"].format(target)).click()
    page.wait_for_url(re.compile("done=introduction"))
    page.context.clear_cookies()

    sign_in(page, site, "staff")
    page.goto(f"{site.url}/challenges/{cid}")
    _verdict(page, target, t["contacted"], lang).click()
    page.wait_for_url(re.compile(r"/challenges/\d+\?done=verdict"))
    assert page.get_by_role("status").inner_text().startswith(t["saved"])
    assert _verdict(page, target, t["contacted"], lang).get_attribute("aria-pressed") == "true"
    card = page.locator("article.result", has_text=target).first
    assert card.locator(".recorded").inner_text().startswith(t["recorded"])  # the request has its own tag
    no_english_left(page, lang)

    page.get_by_role("link", name=t["nav"]).click()
    row = page.locator("tbody tr", has_text=title)
    assert row.count() == 1 and row.get_attribute("data-stage") == "contacted"
    cells = row.locator("td")
    assert t["asked_by"] in cells.nth(3).inner_text()  # who asked for the introduction
    assert t["recorded_by"] in cells.nth(4).inner_text()  # who recorded the contact
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", cells.nth(4).inner_text())
    no_english_left(page, lang)
    row.get_by_role("button", name=t["partnered"].format(target)).click()
    page.wait_for_url(re.compile(r"/introductions\?done=verdict"))
    row = page.locator("tbody tr", has_text=title)
    assert row.get_attribute("data-stage") == "partnered" and row.get_by_role("button").count() == 0
    no_english_left(page, lang)
    screenshot(page, "introductions" + ("-nl" if lang == "nl" else ""))
    verdicts = [r["verdict"] for r in list_feedback(site.store) if r["challenge_id"] == cid]
    assert sorted(verdicts) == ["contacted", "introduction", "partnered"]


def test_verdict_forms_refuse_forgeries_and_bad_values(page: Page, site: Site) -> None:
    sign_in(page, site, "member_b")
    before = len(list_feedback(site.store, limit=10_000))
    r = page.request.post(site.url + "/feedback", form={"organisation_id": str(site.orgs["ecg"]),
                                                        "verdict": "relevant", "csrf": "forged"})
    assert r.status == 403
    page.goto(site.url + "/")
    csrf = page.locator("input[name=csrf]").first.input_value()
    r = page.request.post(site.url + "/feedback", form={"organisation_id": str(site.orgs["ecg"]),
                                                        "verdict": "excellent", "csrf": csrf})
    assert r.status == 422 and "verdict" in r.text() and "Traceback" not in r.text()
    r = page.request.post(site.url + "/feedback", form={
        "organisation_id": str(site.orgs["ecg"]), "csrf": csrf, "verdict": "relevant",
        "challenge_id": str(site.owner_challenge)})
    assert r.status == 404  # another owner's confidential challenge does not exist for this member
    assert len(list_feedback(site.store, limit=10_000)) == before
