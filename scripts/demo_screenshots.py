"""Screenshots of the demo for docs/img/, from a running server: two challenge pages (one English, one
Dutch with the interface in Dutch), a search and an organisation's partners per role.

    .venv/bin/matcher serve --demo --port 8765 &            # the demo data, as `make run` serves it
    .venv/bin/python scripts/demo_screenshots.py http://127.0.0.1:8765 "$(cat var/admin.key)"

Drives Debian's Chromium (``MATCHER_TEST_CHROMIUM`` or /usr/bin/chromium) with Playwright; writes
``docs/img/challenge-roles-en.png``, ``docs/img/challenge-roles-nl.png``, ``docs/img/demo-search.png`` and
``docs/img/demo-partners.png`` (the top of each page).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SEARCH = "sensoren om hartfalen thuis te volgen"  # a Dutch question over English evidence
PARTNERS_OF = "FLOWBEAMS"  # a Twente startup: its partners per complementary kind
PAGES = {"en": "Microfluidic point-of-care test for early sepsis", "nl": "Revalidatie thuis met virtual reality"}


def main(url: str, key: str) -> None:
    listed = httpx.get(f"{url}/v1/challenges", headers={"Authorization": f"Bearer {key}"}, timeout=60).json()["data"]
    ids = {lang: next(c["id"] for c in listed if c["title"].startswith(title)) for lang, title in PAGES.items()}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=os.environ.get("MATCHER_TEST_CHROMIUM", "/usr/bin/chromium"),
                                     headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/signin")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/")
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        top = {"x": 0, "y": 0, "width": 1280, "height": 2000}
        for lang, cid in ids.items():
            page.goto(f"{url}/language/{lang}?next=/challenges/{cid}")  # the interface in the challenge's language
            page.screenshot(path=str(DOCS_IMG / f"challenge-roles-{lang}.png"), full_page=True, clip=top)
            print(f"docs/img/challenge-roles-{lang}.png: challenge {cid}")
        page.goto(f"{url}/language/en?next=/")
        page.goto(f"{url}/?q={SEARCH}")
        page.screenshot(path=str(DOCS_IMG / "demo-search.png"), full_page=True, clip=top)
        found = httpx.get(f"{url}/v1/organisations", params={"name": PARTNERS_OF, "limit": 1},
                          headers={"Authorization": f"Bearer {key}"}, timeout=60).json()["data"]
        page.goto(f"{url}/organisations/{found[0]['id']}?partners=1#partners")
        page.screenshot(path=str(DOCS_IMG / "demo-partners.png"), full_page=False)
        print("docs/img/demo-search.png, docs/img/demo-partners.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
