"""Read a cluster's member list (.csv, .json or .xlsx) into organisations, row by row.

A whole-file problem (unknown suffix, no ``name`` or ``kind`` column, unknown
columns, broken JSON) raises :class:`InvalidInput`; a bad row becomes a
:class:`RowError` with its line and one sentence naming the field, and never stops
the good rows. Nothing here touches the store: :mod:`matcher.ingest.load` does.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.domain import MAX_TEXT, Organisation, Visibility, parse_kind
from matcher.errors import InvalidInput, NotFound
from matcher.messages import Message, message_of

MEMBER_COLUMNS: tuple[str, ...] = (
    "id", "name", "kind", "sme", "country", "nuts", "city", "website", "description", "capabilities",
    "offers", "seeks", "trl_min", "trl_max", "visibility", "contact", "notes")
REQUIRED_COLUMNS: tuple[str, ...] = ("name", "kind")
MAX_ROWS = 20_000
"""Rows one member list may hold (a region's members are hundreds; a larger file is split or loaded with
``matcher import``). The upload limit in bytes is the edges' (the API and the web page)."""
# Narrower limits where the organisations table has a narrower column: an over-long value must be a
# row error here, not a failed transaction (PostgreSQL enforces VARCHAR lengths) that loses every row.
# ``id`` leaves room for the "member:" prefix that load.member_key puts in front (external_id is 128).
_MAX_LENGTH = {"id": 120, "name": 300, "nuts": 16, "city": 200, "website": 500}
_KIND_ALIASES = {"ziekenhuis": "hospital", "zorginstelling": "care_institution", "universiteit": "university",
                 "kennisinstelling": "research_institute", "onderzoeksinstituut": "research_institute",
                 "mkb": "sme", "grootbedrijf": "large_company", "overheid": "public_body"}
_FLAGS = {"true": True, "yes": True, "ja": True, "1": True, "false": False, "no": False, "nee": False, "0": False}
_VISIBILITIES = tuple(v.value for v in Visibility)
_CONTENT_COLUMNS = ("description", "offers", "seeks", "capabilities")
_CAPABILITY_SPLIT = re.compile(r"[;|,]")
_COUNTRY = re.compile(r"[A-Z]{2}")

Record = dict[str, Any]  # documented column name -> raw value (str, number, bool, None; lists from JSON)
Item = tuple[int, Record | str]  # (line, record), or (line, reason) for a row that is no record at all


@dataclass
class RowError:
    """A row that was not imported: ``line`` as the user sees it, ``reason`` one sentence naming the field."""

    line: int
    reason: str


@dataclass
class ParsedRow:
    """A row that parsed, with its line, as an organisation with ``source="file import"``."""

    line: int
    organisation: Organisation


def read_members(path: Path, max_rows: int | None = None) -> tuple[list[ParsedRow], list[RowError]]:
    """Parse a member list; every good row is returned and every bad row explained.

    Args:
        path: a ``.csv`` (``,``, ``;`` or tab separated; UTF-8 with or without BOM, else
            Windows-1252), ``.json`` (a list of objects or ``{"organisations": [...]}``) or
            ``.xlsx`` (first sheet; the first non-empty row is the header) file.
        max_rows: refuse a file with more rows than this (blank rows not counted); None: no limit.

    Returns:
        ``(rows, errors)`` in file order. ``line`` is the physical line where a CSV record
        starts (header is line 1), the sheet row for XLSX, the 1-based item for JSON.

    Raises:
        NotFound: the file does not exist.
        InvalidInput: the file as a whole is unusable (suffix, encoding, columns, syntax, too many rows).
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InvalidInput(Message("{name}: unsupported file type {suffix!r}; expected one of: {expected}",
                                   name=path.name, suffix=path.suffix or "(none)", expected=", ".join(_READERS)))
    if not path.is_file():
        raise NotFound(Message("{path} does not exist", path=str(path)))
    items = reader(path)
    if max_rows is not None and len(items) > max_rows:
        raise InvalidInput(Message("{name}: {rows:,} rows, more than the {most:,} one file may hold; split it "
                                   "into several files", name=path.name, rows=len(items), most=max_rows))
    return _parse_items(items)


def _parse_items(items: Iterable[Item]) -> tuple[list[ParsedRow], list[RowError]]:
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, record in items:
        try:
            if isinstance(record, str):
                raise InvalidInput(record)
            org = _organisation(record)
            key = _identity(org)
            if key in seen:
                raise InvalidInput(Message("{column}: duplicate of line {line}", column=key[0], line=seen[key]))
        except InvalidInput as e:
            errors.append(RowError(line, message_of(e)))
            continue
        seen[key] = line
        rows.append(ParsedRow(line, org))
    return rows, errors


def _identity(org: Organisation) -> tuple[str, ...]:
    """What load.member_key stores the organisation under: its id, else its name and country."""
    if org.external_id:
        return ("id", org.external_id)
    return ("name", " ".join(org.name.lower().split()), org.country)


def _organisation(record: Record) -> Organisation:
    """One organisation from one record; :class:`InvalidInput` names the first bad field."""
    text = {col: _text(col, record.get(col)) for col in MEMBER_COLUMNS if col != "capabilities"}
    if not text["name"]:
        raise InvalidInput(Message("name: required, but empty"))
    kind = _kind(text["kind"])
    # An empty sme cell on an "sme"-kind row means yes: the kind already says so.
    sme = _flag("sme", text["sme"]) if text["sme"] else kind == "sme"
    country = _country(text["country"])
    trl_min, trl_max = _trl("trl_min", text["trl_min"]), _trl("trl_max", text["trl_max"])
    if trl_min is not None and trl_max is not None and trl_min > trl_max:
        raise InvalidInput(Message("trl_min: {low} is greater than trl_max {high}", low=trl_min, high=trl_max))
    visibility = text["visibility"].lower() or Visibility.PUBLIC.value
    if visibility not in _VISIBILITIES:
        raise InvalidInput(Message("visibility: unknown value {value!r}; expected one of: {expected}",
                                   value=text["visibility"], expected=", ".join(_VISIBILITIES)))
    capabilities = _capabilities(record.get("capabilities"))
    if not (text["description"] or text["offers"] or text["seeks"] or capabilities):
        raise InvalidInput(Message("{columns}: all empty, so there is nothing to match on",
                                   columns="/".join(_CONTENT_COLUMNS)))
    return Organisation(
        name=text["name"], kind=kind, external_id=text["id"] or None, sme=sme, country=country,
        nuts=text["nuts"].upper(), city=text["city"], website=text["website"], description=text["description"],
        capabilities=capabilities, offers=text["offers"], seeks=text["seeks"], trl_min=trl_min, trl_max=trl_max,
        visibility=visibility, contact=text["contact"], notes=text["notes"], source="file import")


def _text(column: str, value: Any) -> str:
    """A cell as stripped text: ``None`` is empty, ``3.0`` is ``"3"``; lists and objects are refused."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, (str, int, float)):
        text = str(value).strip()
    elif hasattr(value, "isoformat"):  # a date or time typed into a spreadsheet cell
        text = value.isoformat()
    else:
        raise InvalidInput(Message("{column}: expected text, got a {type}", column=column, type=type(value).__name__))
    limit = _MAX_LENGTH.get(column, MAX_TEXT)
    if len(text) > limit:
        raise InvalidInput(Message("{column}: {n:,} characters, more than the {most:,} allowed", column=column,
                                   n=len(text), most=limit))
    return text


def _kind(value: str) -> str:
    if not value:
        raise InvalidInput(Message("kind: required, but empty"))
    try:
        return _KIND_ALIASES.get(value.lower()) or parse_kind(value)
    except InvalidInput as e:
        raise InvalidInput(Message("kind: {reason}", reason=message_of(e))) from None


def _flag(column: str, value: str) -> bool:
    try:
        return _FLAGS[value.lower()]
    except KeyError:
        raise InvalidInput(Message("{column}: {value!r} is not a yes/no value; expected one of: {expected}",
                                   column=column, value=value, expected=", ".join(_FLAGS))) from None


def _country(value: str) -> str:
    code = value.upper()
    if code and not _COUNTRY.fullmatch(code):
        raise InvalidInput(Message("country: {value!r} is not a 2-letter country code such as NL", value=value))
    return code


def _trl(column: str, value: str) -> int | None:
    if not value:
        return None
    try:
        number = float(value)  # a spreadsheet may hold 3 as 3.0
        if number.is_integer() and 1 <= number <= 9:
            return int(number)
    except ValueError:
        pass
    raise InvalidInput(Message("{column}: {value!r} is not a whole number from 1 to 9", column=column, value=value))


def _capabilities(value: Any) -> list[str]:
    """Tags from ``"a; b | c, a"`` or a JSON list: trimmed, empties dropped, first spelling kept.

    >>> _capabilities(" imaging; AI |  , Imaging")
    ['imaging', 'AI']
    """
    parts = value if isinstance(value, list) else _CAPABILITY_SPLIT.split(_text("capabilities", value))
    out: dict[str, str] = {}
    for part in parts:
        tag = _text("capabilities", part)
        if tag:
            out.setdefault(tag.casefold(), tag)
    return list(out.values())


def _columns(headers: Iterable[Any], where: str) -> list[str]:
    """Documented column names for ``headers``, in order; ``""`` marks an empty header (ignored)."""
    names = ["" if h is None else str(h).strip().lower() for h in headers]
    unknown = [n for n in names if n and n not in MEMBER_COLUMNS]
    if unknown:
        raise InvalidInput(Message("{name}: unknown columns: {unknown}; expected some of: {expected}", name=where,
                                   unknown=", ".join(unknown), expected=", ".join(MEMBER_COLUMNS)))
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        raise InvalidInput(Message("{name}: columns appear more than once: {columns}", name=where,
                                   columns=", ".join(twice)))
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise InvalidInput(Message("{name}: required columns missing: {columns}", name=where,
                                   columns=", ".join(missing)))
    return names


def _is_blank(values: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _table(numbered: Iterable[tuple[int, Sequence[Any]]], name: str) -> list[Item]:
    """Records of a table of ``(line, values)``: blank rows skipped, the first other row is the header."""
    columns: list[str] | None = None
    items: list[Item] = []
    for line, values in numbered:
        if _is_blank(values):
            continue
        if columns is None:
            columns = _columns(values, name)
        elif len(values) > len(columns) and not _is_blank(values[len(columns):]):
            reason = Message("row: {n} values but the header has {columns} columns; is a value with a delimiter "
                             "in it missing its quotes?", n=len(values), columns=len(columns))
            items.append((line, reason))
        else:
            items.append((line, {c: v for c, v in zip(columns, values) if c}))
    if columns is None:
        raise InvalidInput(Message("{name}: no header row; expected one with at least name and kind", name=name))
    return items


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 (BOM or not; UTF-16 with a BOM), else Windows-1252 as older Excel versions write it."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            raise InvalidInput(Message("{name}: not UTF-8 or Windows-1252 text", name=name)) from None


def _delimiter(text: str) -> str:
    """The most frequent of ``,`` ``;`` and tab on the first non-blank line (the header)."""
    header = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    return max(",;\t", key=header.count)


def _read_csv(path: Path) -> list[Item]:
    text = _decode(path.read_bytes(), path.name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))

    def numbered() -> Iterator[tuple[int, list[str]]]:
        start = 1
        for values in reader:
            yield start, values  # the line where the record starts: a quoted value may span lines
            start = reader.line_num + 1

    try:
        return _table(numbered(), path.name)
    except csv.Error as e:
        raise InvalidInput(Message("{name}: line {line}: {error}", name=path.name, line=reader.line_num,
                                   error=str(e))) from None


def _read_json(path: Path) -> list[Item]:
    try:
        data = json.loads(_decode(path.read_bytes(), path.name))
    except json.JSONDecodeError as e:
        raise InvalidInput(Message("{name}: not valid JSON: {error}", name=path.name, error=str(e))) from None
    if isinstance(data, dict) and isinstance(data.get("organisations"), list):
        data = data["organisations"]
    if not isinstance(data, list):
        raise InvalidInput(Message('{name}: expected a list of organisations or {{"organisations": [...]}}',
                                   name=path.name))
    objects = [item for item in data if isinstance(item, dict)]
    keys = {str(k).strip().lower(): None for item in objects for k in item}
    if objects:
        _columns(keys, path.name)
    items: list[Item] = []
    for number, item in enumerate(data, start=1):
        if isinstance(item, dict):
            items.append((number, {str(k).strip().lower(): v for k, v in item.items()}))
        else:
            items.append((number, Message("item: a {type}, not an object with name, kind, ...",
                                          type=type(item).__name__)))
    return items


def _read_xlsx(path: Path) -> list[Item]:
    from openpyxl import load_workbook  # imported here: only spreadsheet imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        raise InvalidInput(Message("{name}: not a readable .xlsx workbook ({error})", name=path.name,
                                   error=str(e))) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong used range; read every cell there is
        return _table(enumerate(sheet.iter_rows(values_only=True), start=1), path.name)
    finally:
        book.close()


_READERS: dict[str, Callable[[Path], list[Item]]] = {".csv": _read_csv, ".json": _read_json, ".xlsx": _read_xlsx}
