"""Build tests/data/entities_registration.xlsx and entities_followup.xlsx: a pair of forms using an entity list.

Run by hand when they change; the .xlsx files are committed. The registration form creates an entity of the
list `cases` (its `entities` sheet, `save_to` columns) and carries the register's tags (case code, province,
consent), so its entity lands in the record's province; the follow-up form loads the list offline
(`select_one_from_file cases.csv`) and updates the chosen entity's status.
"""

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent


def _book(survey, choices, entities, settings):
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in (("survey", survey), ("choices", choices), ("entities", entities), ("settings", settings)):
        if not rows:
            continue
        sheet = wb.create_sheet(name)
        for row in rows:
            sheet.append(row)
    return wb


def build_registration(path: Path) -> None:
    _book(
        [
            ["type", "name", "label::English (en)", "required", "sensitive", "tags", "save_to"],
            ["text", "case_code", "Case code", "yes", "", "case_code", "case_code"],
            ["select_one_from_file provinces.csv", "province", "Province", "yes", "", "scope_province", "province"],
            ["select_one yes_no", "consent_data_sharing", "Consent to share?", "yes", "", "consent_sharing", ""],
            ["text", "full_name", "Full name", "", "yes", "", ""],
            ["select_one gender", "gender", "Gender", "", "", "gender", "gender"],
            ["text", "age_band", "Age band", "", "", "age_band", "age_band"],
        ],
        [
            ["list_name", "name", "label::English (en)"],
            ["yes_no", "yes", "Yes"],
            ["yes_no", "no", "No"],
            ["gender", "Female", "Female"],
            ["gender", "Male", "Male"],
        ],
        [["list_name", "label"], ["cases", "concat(${case_code}, ' (', ${gender}, ')')"]],
        [
            ["form_id", "form_title", "version", "default_language"],
            ["entity_registration", "Case registration", "2026120601", "English (en)"],
        ],
    ).save(path)


def build_followup(path: Path) -> None:
    _book(
        [
            ["type", "name", "label::English (en)", "required", "sensitive", "tags", "save_to"],
            ["select_one_from_file cases.csv", "case", "Case", "yes", "", "", ""],
            ["select_one status", "status", "Status", "yes", "", "", "status"],
            ["text", "age_band", "Age band (if it changed)", "", "", "", "age_band"],
        ],
        [
            ["list_name", "name", "label::English (en)"],
            ["status", "open", "Open"],
            ["status", "referred", "Referred"],
            ["status", "closed", "Closed"],
        ],
        [["list_name", "entity_id", "label"], ["cases", "${case}", ""]],
        [
            ["form_id", "form_title", "version", "default_language"],
            ["entity_followup", "Case follow-up", "2026120601", "English (en)"],
        ],
    ).save(path)


def build_handoff_visit(path: Path) -> None:
    """A provincial officer's visit form offering the province's open hand-off cases (the server's own list)."""
    _book(
        [
            ["type", "name", "label::English (en)", "required", "calculation", "tags"],
            ["select_one_from_file handoff_cases.csv", "case", "Case owed a follow-up", "yes", "", ""],
            [
                "calculate",
                "case_code",
                "",
                "",
                "instance('handoff_cases')/root/item[name=${case}]/case_code",
                "case_code",
            ],
            ["date", "visit_date", "Date of the visit", "yes", "", "event_date"],
        ],
        [["list_name", "name", "label::English (en)"]],
        [],
        [
            ["form_id", "form_title", "version", "default_language"],
            ["handoff_visit", "Hand-off visit", "2026120601", "English (en)"],
        ],
    ).save(path)


if __name__ == "__main__":
    build_registration(HERE / "entities_registration.xlsx")
    build_followup(HERE / "entities_followup.xlsx")
    build_handoff_visit(HERE / "handoff_visit.xlsx")
