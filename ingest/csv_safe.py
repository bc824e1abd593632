"""Spreadsheet-safe CSV: text that Excel or LibreOffice would run as a formula is written as text.

A tablet's answer such as `=HYPERLINK("http://x.invalid","y")` or `=cmd|' /C calc'!A0` is a formula to a
spreadsheet that opens the CSV (CSV or "formula" injection). As OWASP advises, a text cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a single quote in front, and the cell is quoted; numbers
are never touched, so a decimal answer of -5 stays -5.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

#: The first characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTE_IF = (",", '"', "\r", "\n")
#: Excel on Windows reads a CSV as UTF-8 only when it starts with the byte order mark (else Lao is mojibake);
#: exports write it when asked (Ona's `win_excel_utf8`), as downloads from the console do.
BOM = b"\xef\xbb\xbf"


def neutralise(text: str) -> str:
    """Return text that a spreadsheet shows as written: a quote in front when it would start a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _field(text: str) -> str:
    # csv.writer's minimal quoting, plus a quote around every cell that starts with one, so that a
    # neutralised cell is always a quoted string.
    if text.startswith("'") or any(c in text for c in _QUOTE_IF):
        return '"' + text.replace('"', '""') + '"'
    return text


class Writer:
    """Write rows of text to a CSV as `csv.writer` does (comma, CRLF, minimal quoting), cells that begin with a
    single quote quoted too. The caller neutralises the cells it knows to be text (`neutralise`)."""

    def __init__(self, out: TextIO):
        self.out = out

    def writerow(self, cells: Iterable[str]) -> None:
        """Write one row."""
        self.out.write(",".join(_field(c) for c in cells) + "\r\n")
