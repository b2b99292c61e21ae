"""Member lists in a real browser: templates, a preview with additions, field-level changes and bad rows by
line, the import, an import the database refuses (nothing written), and the upload limits."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from matcher.ingest.members import read_members
from tests.test_ingest_load import snapshot
from tests.web.conftest import LANGS, Site, no_english_left, screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

DENTAL = {"id": "W-1", "name": "Oost Orthodontie Print BV", "kind": "sme", "country": "NL", "city": "Almelo",
          "description": "3D-printed orthodontic aligners made in the clinic the same day.",
          "contact": "d@dental.example"}
PHARMACY = {"id": "W-2", "name": "Apotheekrobot Twente", "kind": "startup", "country": "NL", "city": "Hengelo",
            "description": "Robots that pick and pack medicines in hospital pharmacies."}
BAD = {"id": "W-3", "name": "Zonder Soort BV", "kind": "", "description": "A row without a kind."}
# What staff read and click, by language; the reasons of bad rows come from the library, in the page's language
FLOW = {
    "en": {"nav": "Member lists", "templates": ("Excel template (.xlsx)", "CSV template"), "file": "Member list",
           "preview": "Preview the import", "bad_row": "4\tkind: required, but empty",
           "import": "Import 2 organisations",
           "imported": "Imported: 2 added, 0 changed", "empty": "empty", "missing": ("offers", "website"),
           "unknown": "cols.csv: unknown columns: naam; expected some of: id, name"},
    "nl": {"nav": "Ledenlijsten", "templates": ("Excel-sjabloon (.xlsx)", "CSV-sjabloon"), "file": "Ledenlijst",
           "preview": "Import bekijken", "bad_row": "4\tkind: verplicht, maar leeg",
           "import": "2 organisaties importeren", "imported": "Geïmporteerd: 2 toegevoegd, 0 gewijzigd",
           "empty": "leeg", "missing": ("aanbod", "website"),
           "unknown": "cols.csv: onbekende kolommen: naam; verwacht enkele van: id, name"},
}


def _of(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """``row`` as the run in ``lang`` imports it: its own id and name, so each run adds its own members."""
    return row if lang == "en" else {**row, "id": f"{row['id']}-{lang}", "name": f"{row['name']} ({lang})"}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    book = Workbook()
    book.active.append(columns)
    for row in rows:
        book.active.append([row.get(c) for c in columns])
    book.save(path)
    return path


def _preview(page: Page, site: Site, path: Path, lang: str = "en") -> None:
    page.goto(site.url + "/members")
    page.get_by_label(FLOW[lang]["file"], exact=True).set_input_files(str(path))
    page.get_by_role("button", name=FLOW[lang]["preview"]).click()
    page.wait_for_load_state()


def _count(page: Page, what: str) -> int:
    return int(page.locator(f'[data-count="{what}"]').inner_text())


@pytest.mark.parametrize("lang", LANGS)
def test_staff_preview_and_import_a_member_list_then_its_changes(page: Page, site: Site, tmp_path: Path,
                                                                 lang: str) -> None:
    t = FLOW[lang]
    dental_row, pharmacy_row, bad_row = (_of(r, lang) for r in (DENTAL, PHARMACY, BAD))
    sign_in(page, site, "staff")
    page.get_by_role("link", name=t["nav"]).click()
    page.wait_for_url(site.url + "/members")
    no_english_left(page, lang)
    for label, suffix in zip(t["templates"], (".xlsx", ".csv")):
        with page.expect_download() as dl:
            page.get_by_role("link", name=label).click()
        saved = tmp_path / f"template{suffix}"
        dl.value.save_as(saved)
        rows, errors = read_members(saved)
        assert len(rows) == 1 and errors == []

    _preview(page, site, write_csv(tmp_path / "members.csv", [dental_row, pharmacy_row, bad_row]), lang)
    assert (_count(page, "added"), _count(page, "changed"), _count(page, "errors")) == (2, 0, 1)
    errors = page.get_by_test_id("errors").locator("tbody tr")
    assert errors.count() == 1 and errors.first.inner_text() == t["bad_row"]  # line and reason, in the page's language
    assert page.get_by_test_id("added").locator("tbody tr").count() == 2
    assert site.store.find_organisation(f"member:{dental_row['id']}") is None  # a preview writes nothing
    no_english_left(page, lang)
    screenshot(page, "members-preview" + ("-nl" if lang == "nl" else ""))
    page.get_by_role("button", name=t["import"]).click()
    page.wait_for_url(re.compile(r"/members\?done=imported"))
    assert page.get_by_test_id("import-result").inner_text().startswith(t["imported"])
    dental = site.store.find_organisation(f"member:{dental_row['id']}")
    assert dental is not None and dental.city == "Almelo" and dental.source == "file import"

    # the same members again, as a spreadsheet, with a new city and no contact: changes listed field by field
    _preview(page, site, write_xlsx(tmp_path / "members.xlsx", [{**dental_row, "city": "Enschede", "contact": ""},
                                                                 pharmacy_row]), lang)
    assert (_count(page, "added"), _count(page, "changed"), _count(page, "unchanged")) == (0, 1, 1)
    changed = page.get_by_test_id("changed")
    city = changed.locator(f'tr[data-org="{dental.id}"][data-field="city"]')
    assert city.locator("td.old").inner_text() == "Almelo" and city.locator("td.new").inner_text() == "Enschede"
    assert changed.locator('tr[data-field="contact"] td.new').inner_text() == t["empty"]
    no_english_left(page, lang)
    form = {"token": page.locator("input[name=token]").input_value(),
            "csrf": page.locator("form.confirm input[name=csrf]").input_value()}
    page.get_by_role("button", name=t["import"]).click()
    page.wait_for_url(re.compile(r"done=imported"))
    assert site.store.get_organisation(dental.id).city == "Enschede"  # type: ignore[arg-type]
    # the preview is spent: confirming it again is refused with the reason, not imported twice
    again = page.request.post(site.url + "/members/import", form=form)
    assert again.status == 404 and "already imported" in again.text()
    # the imported members' profiles are thin: they lead the list of profiles that need work, CORDIS ones never
    pharmacy = site.store.find_organisation(f"member:{pharmacy_row['id']}")
    assert pharmacy is not None
    listed = page.get_by_test_id("incomplete").locator("tbody tr")
    ids = [int(listed.nth(i).get_attribute("data-org") or 0) for i in range(listed.count())]
    assert pharmacy.id in ids
    assert all(site.store.get_organisation(i).source != "cordis" for i in ids)
    row = page.get_by_test_id("incomplete").locator(f'tr[data-org="{pharmacy.id}"]')
    assert all(what in row.inner_text() for what in t["missing"])
    no_english_left(page, lang)
    # a whole file that cannot be read: the library's reason, in the page's language
    _preview(page, site, write_csv(tmp_path / "cols.csv", [{"naam": "X", "kind": "sme"}]), lang)
    assert t["unknown"] in page.get_by_role("alert").inner_text()
    no_english_left(page, lang)


def test_an_import_the_database_refuses_writes_nothing(page: Page, site: Site, tmp_path: Path) -> None:
    sign_in(page, site, "staff")
    first = write_csv(tmp_path / "first.csv", [{**DENTAL, "id": "W-10", "name": "Refusal Control BV"}])
    _preview(page, site, first)
    page.get_by_role("button", name="Import 1 organisation", exact=True).click()
    page.wait_for_url(re.compile(r"done=imported"))
    rows = [{**DENTAL, "id": "W-10", "name": "Refusal Control BV", "city": "Zwolle"},
            {**PHARMACY, "id": "W-11", "name": "Not Written BV"},
            {**PHARMACY, "id": "W-12", "name": "Refused BV"}]
    _preview(page, site, write_csv(tmp_path / "refused.csv", rows))
    assert (_count(page, "added"), _count(page, "changed")) == (2, 1)
    with site.store.engine.begin() as conn:  # the server's database refuses the last row from now on
        conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON organisations WHEN NEW.name = 'Refused BV' "
                          "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"))
    try:
        before = snapshot(site.store)
        with page.expect_response(re.compile("/members/import")) as answer:
            page.get_by_role("button", name="Import 3 organisations").click()
        assert answer.value.status == 500
        assert page.get_by_role("heading", name="Nothing was imported").is_visible()
        assert "refused.csv" in page.content() and "Traceback" not in page.content()
        assert snapshot(site.store) == before
        assert site.store.find_organisation("member:W-10").city == "Almelo"  # type: ignore[union-attr]
        assert site.store.find_organisation("member:W-11") is None
    finally:
        with site.store.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse"))


def test_upload_limits_and_wrong_files_are_explained(page: Page, site: Site, tmp_path: Path) -> None:
    sign_in(page, site, "staff")
    many = write_csv(tmp_path / "many.csv", [{"name": f"Lid {i}", "kind": "sme", "description": "x"}
                                             for i in range(20_001)])
    _preview(page, site, many)
    assert "many.csv: 20,001 rows, more than the 20,000 one file may hold" in page.get_by_role("alert").inner_text()
    big = tmp_path / "big.csv"
    big.write_bytes(b"name,kind,description\n" + b"x" * (20 * 1024 * 1024))
    _preview(page, site, big)
    assert "big.csv: larger than 20 MB" in page.get_by_role("alert").inner_text()
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"name,kind\n" + b"x" * (22 * 1024 * 1024))
    page.goto(site.url + "/members")
    page.get_by_label("Member list", exact=True).set_input_files(str(huge))
    with page.expect_response(re.compile("/members/preview")) as answer:
        page.get_by_role("button", name="Preview the import").click()
    assert answer.value.status == 413
    assert page.get_by_role("heading", name="The file is too large").is_visible()
    notes = tmp_path / "members.txt"
    notes.write_text("name,kind\n")
    _preview(page, site, notes)
    assert "members.txt: expected a .csv, .json or .xlsx file" in page.get_by_role("alert").inner_text()
    _preview(page, site, write_csv(tmp_path / "cols.csv", [{"naam": "X", "kind": "sme"}]))
    assert "unknown columns: naam" in page.get_by_role("alert").inner_text()


def test_a_row_named_like_an_organisation_already_here_is_flagged(page: Page, site: Site, tmp_path: Path) -> None:
    sign_in(page, site, "staff")
    twin = {"name": "OOST  ziekenhuis", "kind": "ziekenhuis", "country": "NL", "description": "Duplicate?"}
    _preview(page, site, write_csv(tmp_path / "twin.csv", [twin, PHARMACY | {"id": "W-20", "name": "Nieuw BV"}]))
    flag = page.locator("[data-namesake]")
    assert flag.count() == 1 and flag.get_attribute("data-namesake") == str(site.orgs["hospital"])
    assert "second profile" in flag.inner_text()
    assert "1 with the name of an organisation already here" in page.get_by_test_id("summary").inner_text()


def test_member_lists_are_for_staff_only(page: Page, site: Site) -> None:
    sign_in(page, site, "member_b")
    assert page.get_by_role("link", name="Member lists").count() == 0
    for path in ("/members", "/members/template.csv"):
        response = page.goto(site.url + path)
        assert response is not None and response.status == 403
