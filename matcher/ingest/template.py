"""The member-list template that staff download: the documented columns and one example row, as CSV or XLSX.

Reading a template back with :func:`matcher.ingest.members.read_members` gives the example row and
no error (tested), so the template never drifts from what the importer accepts.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from matcher.ingest.members import MEMBER_COLUMNS

EXAMPLE: dict[str, Any] = {
    "id": "M-0001", "name": "Example MedTech BV", "kind": "startup", "sme": "yes", "country": "NL",
    "nuts": "NL213", "city": "Enschede", "website": "https://example-medtech.nl",
    "description": "Wearable patch that measures heart rhythm at home and alerts the cardiology team.",
    "capabilities": "wearable sensors; remote monitoring; signal processing",
    "offers": "A CE-marked ECG patch and its data platform for pilots.",
    "seeks": "A hospital to run a home-monitoring pilot with heart failure patients.",
    "trl_min": 5, "trl_max": 7, "visibility": "public", "contact": "info@example-medtech.nl",
    "notes": "Replace this example row with your members.",
}


def template_csv() -> bytes:
    """UTF-8 with a byte order mark, so that Excel opens it with accents intact."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(MEMBER_COLUMNS)
    writer.writerow([EXAMPLE[c] for c in MEMBER_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    from openpyxl import Workbook  # imported here: only the download pays for it
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "members"
    sheet.append(list(MEMBER_COLUMNS))
    sheet.append([EXAMPLE[c] for c in MEMBER_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
