"""An XLSForm's problems in the page language: our own checks' sentences translated, pyxform's and ODK
Validate's kept as they wrote them (they are English only), each beside the sheet and row it names.

forms.compiler writes its own sentences in English for the API and the CLI; the console matches them here
and shows the console string instead, with the values (cell, row, size) taken from the English text.
"""

from __future__ import annotations

import re

from collector.console.web import _
from forms.compiler import Problem

#: The compiler's summaries (FormError.summary) -> console string.
SUMMARIES = {
    "This file is not an .xlsx spreadsheet.": "xlsform_not_xlsx",
    "This file is not a readable .xlsx spreadsheet.": "xlsform_damaged",
    "The spreadsheet expands to too much data.": "xlsform_too_large",
    "The XLSForm holds spreadsheet formulas.": "xlsform_formulas",
    "Tablets would refuse expressions of the form.": "xlsform_expressions",
    "ODK Validate found errors in the form.": "xlsform_validate",
    "pyxform could not convert the form.": "xlsform_pyxform",
    "pyxform could not read the spreadsheet.": "xlsform_pyxform",
    "The form has warnings and strict mode is on.": "xlsform_strict",
    "The form_id setting is not a usable form ID.": "xlsform_bad_form_id",
    "The version setting is too long.": "xlsform_version_too_long",
}

#: The compiler's problem sentences -> console string; named groups fill the string's placeholders.
SENTENCES = (
    (re.compile(r"Save the form in Excel or LibreOffice as \.xlsx and upload that file\."), "problem_save_as_xlsx"),
    (re.compile(r"The archive holds no Excel workbook\."), "problem_no_workbook"),
    (re.compile(r"The file is too large to be an XLSForm\.|Spreadsheet too large\."), "problem_too_large"),
    (re.compile(r"The workbook inside the file is damaged \((?P<kind>\w+)\)\."), "problem_damaged"),
    (re.compile(r"Cell (?P<cell>[A-Z]+\d+) holds a spreadsheet formula; type the value itself\."), "problem_formula"),
    (
        re.compile(r"form_id (?P<value>.*) must start with a letter and hold only letters, digits, _ \. -"),
        "problem_form_id",
    ),
    (re.compile(r"version must be at most (?P<limit>\d+) characters, e\.g\. 2026120201\."), "problem_version"),
)


def summary_text(summary: str) -> str:
    """Return the compiler's summary of a refusal in the page language (pyxform's own as it is)."""
    key = SUMMARIES.get(summary)
    return _(key) if key else summary


def problem_text(problem: Problem) -> str:
    """Return one problem's sentence in the page language where it is ours, else pyxform's or Validate's."""
    for pattern, key in SENTENCES:
        found = pattern.fullmatch(problem.message)
        if found:
            return _(key, **found.groupdict())
    return problem.message
