"""Browser tests: a real server (uvicorn in a subprocess) over real CORDIS organisations and a few
hand-made profiles, driven by Debian's Chromium through Playwright.

Without a browser the tests skip with the reason; with ``CI=true`` a missing browser is a failure,
so CI never passes by skipping (the same rule as the PostgreSQL tests).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from babel.messages.pofile import read_po

from api.web.i18n import LOCALE_DIR
from matcher.domain import Challenge, Organisation
from matcher.ingest.cordis import CordisData, import_cordis
from matcher.storage.keys import create_key
from matcher.storage.store import Store
from tests.conftest import IN_CI, ROOT, TEST_MODEL

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("MATCHER_TEST_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DOCS_IMG = ROOT / "docs" / "img"
DOCS_CLIP = {"x": 0, "y": 0, "width": 1280, "height": 1150}
START_TIMEOUT = 180.0


@dataclass
class Site:
    url: str
    store: Store
    home: Path  # MATCHER_HOME of the server: admin.key holds the admin key, as after a first start
    keys: dict[str, str]  # admin, staff, member_a (of the hospital), member_b (of the ECG startup)
    orgs: dict[str, int]  # hand-made profiles by short name
    owner_challenge: int  # confidential ("owner") challenge posed by the hospital


def need_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but Playwright for Python is not installed")
        pytest.skip("Playwright for Python is not installed")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        if IN_CI:
            pytest.fail(f"CI=true but no Chromium at {CHROMIUM}: .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set MATCHER_TEST_CHROMIUM)")


PROFILES = {
    "needlefree": Organisation(
        "Twente Needle-Free BV", kind="startup", sme=True, country="NL", nuts="NL213", city="Enschede",
        description="We develop a needle-free jet injector that delivers vaccines and insulin through the skin "
                    "without a needle. Our device reduces pain, fear of needles and needle-stick injuries.",
        offers="Needle-free injection devices and support for clinical validation of vaccine delivery."),
    "hospital": Organisation(
        "Oost Ziekenhuis", kind="hospital", country="NL", nuts="NL213", city="Hengelo",
        description="Teaching hospital running pilots of remote home monitoring for heart failure patients.",
        seeks="Wearable sensors and remote monitoring platforms for heart failure care at home.",
        contact="secret-contact@oost.example", notes="staff note: board changes in 2025"),
    "ecg": Organisation(
        "Twente Sensors BV", kind="startup", sme=True, country="NL", nuts="NL213", city="Enschede",
        description="Wearable ECG patch and remote monitoring platform for cardiology and heart failure at home."),
    "rehab": Organisation(
        "Gelderse Revalidatie Robotica BV", kind="sme", sme=True, country="NL", nuts="NL226", city="Arnhem",
        description="Robotic gait trainers and exoskeletons for stroke rehabilitation in clinics and at home."),
    "rehab_nl": Organisation(  # the Dutch run of the profile test completes this one
        "Achterhoekse Revalidatietechniek BV", kind="sme", sme=True, country="NL", nuts="NL226", city="Doetinchem",
        description="Loopbanden en exoskeletten voor revalidatie na een beroerte, in de kliniek en thuis."),
    "telecare": Organisation(
        "Nijmegen Telecare Labs", kind="research_institute", country="NL", nuts="NL226", city="Nijmegen",
        description="Research on telemonitoring, heart failure self-management and remote patient follow-up."),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server was not ready within {START_TIMEOUT:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, small_cordis: CordisData) -> Iterator[Site]:
    """A running server at ``site.url`` over a fresh home folder."""
    need_browser()
    home = tmp_path_factory.mktemp("web")
    store = Store(f"sqlite:///{home / 'matcher.db'}")
    import_cordis(store, small_cordis)
    ids = store.upsert_organisations(list(PROFILES.values()))
    orgs = dict(zip(PROFILES, ids))
    owner = store.save_challenge(Challenge(
        "Codeword-owner: heart failure at home", "We want to monitor heart failure patients at home with wearables.",
        posed_by=orgs["hospital"], confidentiality="owner"))
    keys = {"admin": create_key(store, "admin", label="local admin (first start)"),
            "staff": create_key(store, "staff", label="web tests"),
            "member_a": create_key(store, "member", orgs["hospital"]),
            "member_b": create_key(store, "member", orgs["ecg"])}
    (home / "admin.key").write_text(keys["admin"] + "\n", encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "MATCHER_HOME": str(home), "MATCHER_MODEL": TEST_MODEL, "MATCHER_DATABASE_URL": "",
           "PYTHONUNBUFFERED": "1"}
    log = home / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                                 "--port", str(port), "--log-level", "warning"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
        yield Site(url, store, home, keys, orgs, owner)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        store.close()


@pytest.fixture(scope="session")
def browser(site: Site) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


LANGS = ("en", "nl")
BROWSER_LOCALE = {"en": "en-US", "nl": "nl-NL"}


@pytest.fixture
def lang() -> str:
    """The language of ``page``: English, unless a test runs in both (``@pytest.mark.parametrize("lang", LANGS)``)."""
    return "en"


@pytest.fixture
def page(browser: Browser, lang: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page, 1280 wide like a meeting-room screen, in a browser set to
    ``lang`` (it sends that ``Accept-Language``, so every page and every later sign-in is in that language)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  locale=BROWSER_LOCALE[lang])
    context.set_default_timeout(20_000)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture
def page_nl(browser: Browser) -> Iterator[Page]:
    """Like ``page``, in a browser set to Dutch (it sends ``Accept-Language: nl-NL``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="nl-NL")
    context.set_default_timeout(20_000)
    p = context.new_page()
    yield p
    context.close()


def sign_in(page: Page, site: Site, who: str) -> None:
    """Sign in with ``site.keys[who]`` on the sign-in page, in the language the page is shown in."""
    page.goto(site.url + "/signin")
    dutch = page.locator("html").get_attribute("lang") == "nl"
    page.get_by_label("API-sleutel" if dutch else "API key").fill(site.keys[who])
    page.get_by_role("button", name="Inloggen" if dutch else "Sign in").click()
    page.wait_for_url(site.url + "/")


def sign_in_nl(page: Page, site: Site, who: str) -> None:
    """:func:`sign_in` on a page that must be Dutch."""
    page.goto(site.url + "/signin")
    assert page.locator("html").get_attribute("lang") == "nl"
    sign_in(page, site, who)


# ---- English left on a Dutch page ----------------------------------------------------------------------
SHORT_ENGLISH = ("Search", "Challenges", "Sign out", "Sign in", "Keys", "Verdict", "Why this one",
                 "Not relevant", "Contacted", "Partnered", "Team size", "Rules",
                 "Member", "Role", "Covers", "Swap", "Edit", "Country", "Kind")


@cache
def english_texts() -> tuple[str, ...]:
    """The English texts that read differently in Dutch: every catalogue entry of two words or more without
    placeholders or markup, the library's messages among them (the short ones above are checked as whole
    words)."""
    with (LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="nl")
    out = []
    for m in catalog:
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for msgid in ids:
            if msgid and msgid not in strings and len(msgid.split()) >= 2 and not re.search(r"[%<{]", msgid):
                out.append(msgid)
    return tuple(out)


def shown_text(page: Page) -> str:
    """What a person reads or hears: the page's text and its labels, titles, placeholders and alt texts."""
    return page.evaluate("""() => {
        const attrs = [...document.querySelectorAll('[aria-label],[title],[placeholder],[alt]')].flatMap(
            e => ['aria-label', 'title', 'placeholder', 'alt'].map(a => e.getAttribute(a) || ''));
        return [document.title, document.body.innerText, ...attrs].join('\\n');
    }""")


def english_leftovers(page: Page) -> list[str]:
    """The interface's English texts on ``page`` (a Dutch page should have none)."""
    text = shown_text(page)
    # as whole words: "TRL to" is English, "TRL tot" Dutch
    return [t for t in english_texts() + SHORT_ENGLISH if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text)]


def no_english_left(page: Page, lang: str) -> None:
    """On a Dutch page, fail naming every English interface text still shown (nothing to check in English)."""
    if lang == "nl":
        assert page.locator("html").get_attribute("lang") == "nl"
        left = english_leftovers(page)
        assert not left, f"English on the Dutch page {page.url}: {left}"


def screenshot(page: Page, name: str, docs: bool = False) -> Path:
    """Save a full-page screenshot for review; with MATCHER_UPDATE_DOCS_IMG=1 also refresh docs/img/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("MATCHER_UPDATE_DOCS_IMG") == "1":  # the top of the page, for the README
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / path.name), full_page=True, clip=DOCS_CLIP)
    return path
