"""Build tests/data/handoff_screening.xlsx: a small `screening` form carrying the hand-off tags (issue 10).

Run by hand when it changes; the .xlsx is committed. Its tags are those of the ministry's forms
(`home_province`, `home_district` beside `case_code`, `scope_province`, ...), so the case register and the
hand-off tasks read it as they read the bundled screening form.
"""

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent


def build(path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    survey = wb.create_sheet("survey")
    for row in [
        ["type", "name", "label::Lao (lo)", "label::English (en)", "required", "choice_filter", "sensitive", "tags"],
        ["text", "case_code", "ລະຫັດກໍລະນີ", "Case code", "yes", "", "", "case_code"],
        ["date", "screening_date", "ວັນທີ", "Date", "", "", "", "event_date"],
        ["select_one_from_file provinces.csv", "screening_province", "ແຂວງ", "Province", "", "", "", "scope_province"],
        [
            "select_one yes_no",
            "consent_data_sharing",
            "ຍິນຍອມແບ່ງປັນຂໍ້ມູນບໍ?",
            "Consent to share?",
            "",
            "",
            "",
            "consent_sharing",
        ],
        ["text", "full_name", "ຊື່", "Full name", "", "", "yes", ""],
        ["select_one gender", "gender", "ເພດ", "Gender", "", "", "", "gender"],
        ["text", "age_band", "ກຸ່ມອາຍຸ", "Age band", "", "", "", "age_band"],
        [
            "select_multiple exploitation_type",
            "exploitation",
            "ການຂູດຮີດ",
            "Exploitation",
            "",
            "",
            "",
            "exploitation_type",
        ],
        [
            "select_one_from_file provinces.csv",
            "home_state",
            "ແຂວງບ້ານເກີດ",
            "Home province",
            "",
            "",
            "",
            "home_province",
        ],
        [
            "select_one_from_file districts.csv",
            "home_city",
            "ເມືອງບ້ານເກີດ",
            "Home district",
            "",
            "province = ${home_state}",
            "",
            "home_district",
        ],
    ]:
        survey.append(row)
    choices = wb.create_sheet("choices")
    for row in [
        ["list_name", "name", "label::Lao (lo)", "label::English (en)"],
        ["yes_no", "yes", "ແມ່ນ", "Yes"],
        ["yes_no", "no", "ບໍ່", "No"],
        ["gender", "Female", "ຍິງ", "Female"],
        ["gender", "Male", "ຊາຍ", "Male"],
        ["exploitation_type", "ForcedLabour", "ແຮງງານ", "Forced labour"],
        ["exploitation_type", "SexualExploitation", "ທາງເພດ", "Sexual exploitation"],
    ]:
        choices.append(row)
    settings = wb.create_sheet("settings")
    settings.append(["form_id", "form_title", "version", "default_language"])
    settings.append(["screening", "Screening (hand-off test)", "2026112901", "Lao (lo)"])
    wb.save(path)


if __name__ == "__main__":
    build(HERE / "handoff_screening.xlsx")
