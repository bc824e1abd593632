"""Shared test helpers (moved from tests/forms/test_compiler.py)."""

from __future__ import annotations

import io

from openpyxl import Workbook


def workbook_bytes(survey, settings=(("form_id", "version"), ("t", "1")), choices=None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in survey:
        ws.append(list(row))
    for title, rows in (("settings", settings), ("choices", choices)):
        if rows:
            sheet = wb.create_sheet(title)
            for row in rows:
                sheet.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


#: A form tablets would refuse although pyxform and ODK Validate pass or miss it: an unknown function in a
#: constraint (row 2), an unknown function in a relevant (row 3), a type error in a calculation (row 4).
BAD_EXPRESSIONS = [
    ("type", "name", "label", "constraint", "relevant", "calculation"),
    ("text", "code", "Code", "regexp(., '[a-z]+')", "", ""),
    ("integer", "age", "Age", "", "isblank(${code})", ""),
    ("calculate", "total", "", "", "", "${age} + 'ten'"),
]
