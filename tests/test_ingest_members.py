"""The member-list parser, on real .csv, .json and .xlsx files written to tmp_path."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from matcher.domain import Organisation
from matcher.errors import InvalidInput, NotFound
from matcher.ingest.members import MEMBER_COLUMNS, ParsedRow, RowError, read_members

GOOD = {"name": "Maxima MC", "kind": "hospital", "description": "Perinatal care and remote monitoring."}
UNICODE = {"name": "Zuyderland Medisch Centrum – Heerlen ❤️", "kind": "ziekenhuis", "city": "Sittard-Geleen",
           "description": "Geïntegreerde zorg, één team; naïve coöperatie 🩺 with Œuvre and ß."}


def write_csv(tmp_path: Path, rows: list[dict[str, Any]], delimiter: str = ",", name: str = "members.csv",
              encoding: str = "utf-8") -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, columns, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_text(tmp_path: Path, text: str, name: str = "members.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: list[list[Any]], name: str = "members.xlsx") -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.create_sheet("ignored").append(["not", "a", "member", "list"])
    path = tmp_path / name
    book.save(path)
    return path


def orgs(rows: list[ParsedRow]) -> list[Organisation]:
    return [r.organisation for r in rows]


# ---- CSV: shapes, delimiters and encodings -------------------------------------------------------------

def test_csv_with_every_column_gives_the_full_organisation(tmp_path: Path) -> None:
    full = {"id": " M-001 ", "name": " Lifetec BV ", "kind": "SME", "sme": "yes", "country": "nl",
            "nuts": "nl414", "city": "Eindhoven", "website": "https://lifetec.example", "description": "Bench tests.",
            "capabilities": "imaging; AI | Imaging, ; validation", "offers": "Test lab", "seeks": "A hospital",
            "trl_min": "3", "trl_max": "6", "visibility": "Members", "contact": "ann@lifetec.example",
            "notes": "met at Medtech Day"}
    rows, errors = read_members(write_csv(tmp_path, [full]))
    assert errors == []
    assert [r.line for r in rows] == [2]
    assert rows[0].organisation == Organisation(
        name="Lifetec BV", kind="sme", external_id="M-001", sme=True, country="NL", nuts="NL414",
        city="Eindhoven", website="https://lifetec.example", description="Bench tests.",
        capabilities=["imaging", "AI", "validation"], offers="Test lab", seeks="A hospital", trl_min=3,
        trl_max=6, visibility="members", contact="ann@lifetec.example", notes="met at Medtech Day",
        source="file import")


def test_member_columns_are_the_documented_ones_in_order() -> None:
    assert MEMBER_COLUMNS == ("id", "name", "kind", "sme", "country", "nuts", "city", "website", "description",
                              "capabilities", "offers", "seeks", "trl_min", "trl_max", "visibility", "contact",
                              "notes")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    rows_in = [GOOD, {"name": "Philips, Best", "kind": "large_company", "seeks": "pilots; clinical data",
                      "capabilities": "MRI, CT"}]
    rows, errors = read_members(write_csv(tmp_path, rows_in, delimiter=delimiter))
    assert errors == []
    assert [o.name for o in orgs(rows)] == ["Maxima MC", "Philips, Best"]
    assert orgs(rows)[1].seeks == "pilots; clinical data"
    assert orgs(rows)[1].capabilities == ["MRI", "CT"]


def test_dutch_excel_export_semicolons_bom_and_crlf(tmp_path: Path) -> None:
    text = ("\ufeffid;name;kind;description;trl_min\r\n"
            "7;Catharina Ziekenhuis;ziekenhuis;Hartzorg, beeldvorming;4\r\n")
    rows, errors = read_members(write_text(tmp_path, text))
    assert errors == []
    assert orgs(rows)[0].external_id == "7"  # the BOM did not end up in the first header
    assert orgs(rows)[0].description == "Hartzorg, beeldvorming"
    assert orgs(rows)[0].trl_min == 4


def test_csv_in_windows_1252_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [{"name": "Café Médical", "kind": "other", "description": "Zorg € één"}],
                     encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the fallback is really exercised
    rows, errors = read_members(path)
    assert errors == []
    assert (orgs(rows)[0].name, orgs(rows)[0].description) == ("Café Médical", "Zorg € één")


def test_header_names_ignore_case_whitespace_and_empty_headers(tmp_path: Path) -> None:
    text = " NAME ,Kind,  Description,,\nRadboudumc,hospital,Neurology,stray,\n"
    rows, errors = read_members(write_text(tmp_path, text))
    assert errors == []
    assert (orgs(rows)[0].name, orgs(rows)[0].kind, orgs(rows)[0].description) == (
        "Radboudumc", "hospital", "Neurology")


def test_multiline_quoted_fields_report_the_line_where_the_record_starts(tmp_path: Path) -> None:
    text = ('name,kind,description\n'                       # 1
            'Maxima MC,hospital,"Perinatal care\n'          # 2  record starts
            'and remote\n'                                  # 3
            'monitoring"\n'                                 # 4
            '\n'                                            # 5  blank: skipped
            ' , , \n'                                       # 6  blank after trimming: skipped
            'Bad Clinic,hospitaal,"Two\n'                   # 7  record starts, bad kind
            'lines"\n'                                      # 8
            'TU/e,universiteit,Signal processing\n')        # 9
    rows, errors = read_members(write_text(tmp_path, text))
    assert [r.line for r in rows] == [2, 9]
    assert orgs(rows)[0].description == "Perinatal care\nand remote\nmonitoring"
    assert [e.line for e in errors] == [7]
    assert errors[0].reason.startswith("kind: unknown kind 'hospitaal'; expected one of: ")


def test_header_only_file_has_no_rows_and_no_errors(tmp_path: Path) -> None:
    assert read_members(write_text(tmp_path, "name,kind,description\n\n")) == ([], [])


# ---- bad rows: each reported with its line and the field, good rows kept -------------------------------

BAD_ROWS = [
    ({"kind": "hospitaal"}, "kind: unknown kind 'hospitaal'; expected one of: startup, sme,"),
    ({"kind": ""}, "kind: required"),
    ({"name": "   "}, "name: required"),
    ({"name": "x" * 301}, "name: 301 characters, more than the 300 allowed"),
    ({"description": "y" * 20_001}, "description: 20,001 characters, more than the 20,000 allowed"),
    ({"notes": "z" * 20_001}, "notes: 20,001 characters"),
    ({"city": "c" * 201}, "city: 201 characters"),
    ({"id": "i" * 121}, "id: 121 characters"),
    ({"sme": "misschien"}, "sme: 'misschien' is not a yes/no value"),
    ({"country": "Netherlands"}, "country: 'Netherlands' is not a 2-letter country code"),
    ({"country": "N1"}, "country: 'N1' is not a 2-letter country code"),
    ({"trl_min": "0"}, "trl_min: '0' is not a whole number from 1 to 9"),
    ({"trl_max": "10"}, "trl_max: '10' is not a whole number from 1 to 9"),
    ({"trl_min": "3.5"}, "trl_min: '3.5' is not a whole number"),
    ({"trl_max": "high"}, "trl_max: 'high' is not a whole number"),
    ({"trl_min": "7", "trl_max": "4"}, "trl_min: 7 is greater than trl_max 4"),
    ({"visibility": "secret"}, "visibility: unknown value 'secret'; expected one of: public, members, staff"),
    ({"description": "", "capabilities": " ; | ,"}, "description/offers/seeks/capabilities: all empty"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_bad_row_is_reported_and_good_rows_survive(tmp_path: Path, change: dict[str, str], reason: str) -> None:
    columns = dict.fromkeys(MEMBER_COLUMNS, "")
    good1 = {**columns, **GOOD}
    bad = {**good1, "name": "Bad Row", **change}
    good2 = {**good1, "name": "Good Row"}
    rows, errors = read_members(write_csv(tmp_path, [good1, bad, good2]))
    assert [r.line for r in rows] == [2, 4]
    assert [o.name for o in orgs(rows)] == ["Maxima MC", "Good Row"]
    assert len(errors) == 1 and errors[0].line == 3
    assert errors[0].reason.startswith(reason)


def test_row_with_more_values_than_columns_is_an_error(tmp_path: Path) -> None:
    text = "name,kind,description\nPhilips,large_company,Imaging,Best\nTU/e,university,Signals,,\n"
    rows, errors = read_members(write_text(tmp_path, text))
    assert [r.line for r in rows] == [3]  # trailing empty values are harmless
    assert [e.line for e in errors] == [2]
    assert errors[0].reason.startswith("row: 4 values but the header has 3 columns")


def test_short_rows_leave_the_missing_columns_empty(tmp_path: Path) -> None:
    rows, errors = read_members(write_text(tmp_path, "name,kind,description,city\nUMCG,hospital,Care\n"))
    assert errors == [] and orgs(rows)[0].city == ""


def test_duplicate_ids_and_names_report_the_earlier_line(tmp_path: Path) -> None:
    rows_in = [{**GOOD, "id": "A1", "country": "NL"},                      # 2
               {**GOOD, "id": "A1", "name": "Other name"},                 # 3 same id
               {**GOOD, "id": "", "name": "Catharina", "country": "nl"},   # 4
               {**GOOD, "id": "", "name": " CATHARINA ", "country": "NL"},  # 5 same name+country
               {**GOOD, "id": "", "name": "Catharina", "country": "BE"},   # 6 another country: fine
               {**GOOD, "id": "B2", "name": "Catharina", "country": "NL"}]  # 7 has its own id: fine
    rows, errors = read_members(write_csv(tmp_path, rows_in))
    assert [r.line for r in rows] == [2, 4, 6, 7]
    assert errors == [RowError(3, "id: duplicate of line 2"), RowError(5, "name: duplicate of line 4")]


def test_a_bad_row_does_not_claim_its_key(tmp_path: Path) -> None:
    rows_in = [{**GOOD, "id": "A1", "kind": "nonsense"}, {**GOOD, "id": "A1"}]
    rows, errors = read_members(write_csv(tmp_path, rows_in))
    assert [r.line for r in rows] == [3]
    assert [e.line for e in errors] == [2]


# ---- values ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("alias", "kind"), [
    ("ziekenhuis", "hospital"), ("Zorginstelling", "care_institution"), ("UNIVERSITEIT", "university"),
    ("kennisinstelling", "research_institute"), ("onderzoeksinstituut", "research_institute"),
    ("mkb", "sme"), ("grootbedrijf", "large_company"), ("overheid", "public_body"),
    ("Large company", "large_company"), ("research-institute", "research_institute"), ("startup", "startup")])
def test_kinds_and_dutch_aliases(tmp_path: Path, alias: str, kind: str) -> None:
    rows, errors = read_members(write_csv(tmp_path, [{**GOOD, "kind": f" {alias} "}]))
    assert errors == [] and orgs(rows)[0].kind == kind


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("Yes", True), ("ja", True), ("1", True),
    ("FALSE", False), ("no", False), ("Nee", False), ("0", False), ("", False)])
def test_sme_flag_values(tmp_path: Path, value: str, expected: bool) -> None:
    rows, errors = read_members(write_csv(tmp_path, [{**GOOD, "sme": value}]))
    assert errors == [] and orgs(rows)[0].sme is expected


def test_empty_sme_flag_follows_an_sme_kind_but_an_explicit_no_wins(tmp_path: Path) -> None:
    rows_in = [{**GOOD, "name": "A", "kind": "mkb", "sme": ""}, {**GOOD, "name": "B", "kind": "sme", "sme": "nee"}]
    rows, errors = read_members(write_csv(tmp_path, rows_in))
    assert errors == [] and [o.sme for o in orgs(rows)] == [True, False]


def test_one_content_field_is_enough(tmp_path: Path) -> None:
    base = {"name": "", "kind": "sme", "description": "", "offers": "", "seeks": "", "capabilities": ""}
    rows_in = [{**base, "name": field, field: "something"} for field in ("description", "offers", "seeks",
                                                                          "capabilities")]
    rows, errors = read_members(write_csv(tmp_path, rows_in))
    assert errors == [] and len(rows) == 4
    assert orgs(rows)[3].capabilities == ["something"]


def test_defaults_for_empty_optional_fields(tmp_path: Path) -> None:
    columns = dict.fromkeys(MEMBER_COLUMNS, "")
    rows, errors = read_members(write_csv(tmp_path, [{**columns, **GOOD}]))
    org = orgs(rows)[0]
    assert errors == []
    assert (org.external_id, org.visibility, org.trl_min, org.trl_max, org.country, org.capabilities) == (
        None, "public", None, None, "", [])


# ---- whole-file problems ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "message"), [
    ("kind,description", "required columns missing: name"),
    ("name,description", "required columns missing: kind"),
    ("naam,soort,description", "unknown columns: naam, soort"),
    ("name,kind,Name", "columns appear more than once: name"),
])
def test_wrong_columns_reject_the_file(tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_members(write_text(tmp_path, header + "\nA,hospital,text\n"))


def test_empty_csv_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no header row"):
        read_members(write_text(tmp_path, "\n  \n"))


def test_csv_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = "name,kind,description\nA,hospital,ok\nB,hospital," + "x" * 200_000 + "\n"
    with pytest.raises(InvalidInput, match="line 3"):
        read_members(write_text(tmp_path, text))


def test_unknown_suffix_is_invalid_input(tmp_path: Path) -> None:
    path = write_text(tmp_path, "name,kind\n", name="members.txt")
    with pytest.raises(InvalidInput, match=r"unsupported file type '\.txt'; expected one of: \.csv, \.json, \.xlsx"):
        read_members(path)


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    rows, errors = read_members(write_csv(tmp_path, [GOOD], name="MEMBERS.CSV"))
    assert errors == [] and len(rows) == 1


@pytest.mark.parametrize("name", ["missing.csv", "missing.json", "missing.xlsx"])
def test_missing_file_is_not_found(tmp_path: Path, name: str) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        read_members(tmp_path / name)


# ---- JSON ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrap", [lambda items: items, lambda items: {"organisations": items}],
                         ids=["list", "organisations"])
def test_json_both_shapes_with_item_numbers(tmp_path: Path, wrap: Any) -> None:
    items = [{"Name": "Maxima MC", "kind": "hospital", "description": "Care", "trl_min": 2, "trl_max": 5.0,
              "sme": False, "id": 17, "capabilities": ["imaging", " AI ", "imaging", ""]},
             "not an object",
             {"name": "Bad", "kind": "spaceship", "offers": "x"},
             {"name": "Nested", "kind": "sme", "description": {"en": "x"}},
             {"name": "TU/e", "kind": "universiteit", "seeks": "Clinical partners", "country": None, "id": 18.0}]
    path = tmp_path / "members.json"
    path.write_text(json.dumps(wrap(items)), encoding="utf-8")
    rows, errors = read_members(path)
    assert [r.line for r in rows] == [1, 5]
    first = orgs(rows)[0]
    assert (first.external_id, first.trl_min, first.trl_max, first.sme, first.capabilities) == (
        "17", 2, 5, False, ["imaging", "AI"])
    assert orgs(rows)[1].external_id == "18"  # a float that is a whole number reads as one
    assert [e.line for e in errors] == [2, 3, 4]
    assert errors[0].reason == "item: a str, not an object with name, kind, ..."
    assert errors[1].reason.startswith("kind: unknown kind 'spaceship'")
    assert errors[2].reason == "description: expected text, got a dict"


@pytest.mark.parametrize(("content", "message"), [
    ('{"members": []}', "expected a list of organisations"),
    ('[{"name": "A", "kind": "sme", "offers": "x",', "not valid JSON"),
    ('[{"name": "A", "kind": "sme", "offerz": "x"}]', "unknown columns: offerz"),
    ('[{"name": "A", "offers": "x"}]', "required columns missing: kind"),
])
def test_bad_json_files_are_rejected(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_members(write_text(tmp_path, content, name="members.json"))


def test_empty_json_list_has_nothing(tmp_path: Path) -> None:
    assert read_members(write_text(tmp_path, "[]", name="members.json")) == ([], [])


# ---- XLSX -----------------------------------------------------------------------------------------------------

def test_xlsx_with_numbers_booleans_and_sheet_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [
        [],                                                                            # 1 empty: header comes later
        ["ID", "Name", "Kind", "SME", "TRL_min", "trl_max", "Description", None],       # 2
        [1001, "Lifetec", "mkb", True, 3.0, 6, "Bench testing", None],                 # 3
        [None, None, None, None, None, None, None, None],                              # 4 blank: skipped
        [1002, "Bad TRL", "sme", False, 3.5, None, "x", None],                         # 5
        [1003.0, "Catharina", "ziekenhuis", "nee", None, None, "Cardiology", None],     # 6
        [1001, "Same id", "sme", None, None, None, "x", None],                         # 7
    ])
    rows, errors = read_members(path)
    assert [r.line for r in rows] == [3, 6]
    lifetec, catharina = orgs(rows)
    assert (lifetec.external_id, lifetec.kind, lifetec.sme, lifetec.trl_min, lifetec.trl_max) == (
        "1001", "sme", True, 3, 6)
    assert (catharina.external_id, catharina.kind, catharina.sme) == ("1003", "hospital", False)
    assert errors == [RowError(5, "trl_min: '3.5' is not a whole number from 1 to 9"),
                      RowError(7, "id: duplicate of line 3")]


def test_xlsx_with_a_wrong_stored_used_range_is_read_in_full(tmp_path: Path) -> None:
    written = write_xlsx(tmp_path, [["name", "kind", "description"], ["Lifetec", "mkb", "Bench testing"]],
                         name="written.xlsx")
    path = tmp_path / "members.xlsx"  # as some exporters write it: the used range claimed to be A1 only
    with zipfile.ZipFile(written) as src, zipfile.ZipFile(path, "w") as dst:
        for entry in src.infolist():
            data = src.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:C2"' in data
                data = data.replace(b'<dimension ref="A1:C2"', b'<dimension ref="A1"')
            dst.writestr(entry, data)
    rows, errors = read_members(path)
    assert errors == [] and [(r.line, r.organisation.description) for r in rows] == [(2, "Bench testing")]


def test_xlsx_missing_required_column_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="required columns missing: kind"):
        read_members(write_xlsx(tmp_path, [["name", "description"], ["A", "x"]]))


def test_not_a_workbook_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a readable .xlsx workbook"):
        read_members(write_text(tmp_path, "name,kind\n", name="members.xlsx"))


# ---- Unicode round trip -----------------------------------------------------------------------------------------

def _unicode_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path, [UNICODE], delimiter=";")


def _unicode_json(tmp_path: Path) -> Path:
    path = tmp_path / "members.json"
    path.write_text(json.dumps([UNICODE], ensure_ascii=False), encoding="utf-8")
    return path


def _unicode_xlsx(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path, [list(UNICODE), list(UNICODE.values())])


@pytest.mark.parametrize("write", [_unicode_csv, _unicode_json, _unicode_xlsx], ids=["csv", "json", "xlsx"])
def test_unicode_round_trip(tmp_path: Path, write: Any) -> None:
    rows, errors = read_members(write(tmp_path))
    assert errors == []
    org = orgs(rows)[0]
    assert (org.name, org.city, org.description, org.kind) == (
        UNICODE["name"], UNICODE["city"], UNICODE["description"], "hospital")
