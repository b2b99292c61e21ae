"""Screenshots of two demo challenge pages (one English, one Dutch) for docs/img/, from a running server.

    .venv/bin/matcher serve --demo --port 8765 &            # the demo data, as `make run` serves it
    .venv/bin/python scripts/demo_screenshots.py http://127.0.0.1:8765 "$(cat var/admin.key)"

Drives Debian's Chromium (``MATCHER_TEST_CHROMIUM`` or /usr/bin/chromium) with Playwright; writes
``docs/img/challenge-roles-en.png`` and ``docs/img/challenge-roles-nl.png`` (the top of each page).
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
        for lang, cid in ids.items():
            page.goto(f"{url}/challenges/{cid}")
            page.screenshot(path=str(DOCS_IMG / f"challenge-roles-{lang}.png"), full_page=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": 2000})
            print(f"docs/img/challenge-roles-{lang}.png: challenge {cid}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
