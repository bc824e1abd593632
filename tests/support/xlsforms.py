"""XLSForms made from tests/data/sample_case.xlsx for the forms pages: a changed one and a broken one."""

from __future__ import annotations

import io

from tests.conftest import DATA

#: The survey row (as the spreadsheet numbers it) that `broken_sample` breaks, and the name it refers to.
BROKEN_ROW, BROKEN_NAME = 3, "no_such_question"


def _edit(edit) -> bytes:
    from openpyxl import load_workbook  # heavy: only the tests that build a form load it

    workbook = load_workbook(DATA / "sample_case.xlsx")
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def changed_sample(version: str = "2026120601") -> bytes:
    """The sample case form with a question relabelled (age), one removed (photo), one added (phone), a choice
    added (indicators: forced_labour) and one relabelled (yes_no: no), as version `version`."""

    def edit(workbook) -> None:
        survey, choices, settings = workbook["survey"], workbook["choices"], workbook["settings"]
        for row in survey.iter_rows(min_row=2):
            if row[1].value == "age":
                row[3].value = "Age in years"
        photo = next(r[0].row for r in survey.iter_rows(min_row=2) if r[1].value == "photo")
        survey.delete_rows(photo)
        survey.insert_rows(3)
        for column, value in enumerate(("text", "phone", "ເບີໂທ", "Phone number"), start=1):
            survey.cell(row=3, column=column, value=value)
        for row in choices.iter_rows(min_row=2):
            if (row[0].value, row[1].value) == ("yes_no", "no"):
                row[3].value = "No, not given"
        choices.append(("indicators", "forced_labour", "ບັງຄັບອອກແຮງງານ", "Forced labour"))
        settings["C2"] = version

    return _edit(edit)


def broken_sample() -> bytes:
    """The sample case form whose survey row BROKEN_ROW is relevant on a question it does not have."""

    def edit(workbook) -> None:
        workbook["survey"].cell(row=BROKEN_ROW, column=6, value=f"${{{BROKEN_NAME}}} = 'yes'")

    return _edit(edit)
