"""Rebuild the sample XLSForms in tests/data (run by hand when they change; the .xlsx files are committed)."""

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent


def sheet(workbook, title, rows):
    ws = workbook.create_sheet(title)
    for row in rows:
        ws.append(row)


def build_sample(path: Path, version: str = "2026112901") -> None:
    wb = Workbook()
    wb.remove(wb.active)
    sheet(
        wb,
        "survey",
        [
            [
                "type",
                "name",
                "label::Lao (lo)",
                "label::English (en)",
                "required",
                "relevant",
                "constraint",
                "choice_filter",
                "parameters",
                "sensitive",
                "tags",
            ],
            ["select_one yes_no", "consent", "ຍິນຍອມບໍ?", "Consent given?", "yes", "", "", "", "", "", "consent_sharing"],
            ["text", "full_name", "ຊື່ ແລະ ນາມສະກຸນ", "Full name", "", "${consent} = 'yes'", "", "", "", "yes"],
            ["integer", "age", "ອາຍຸ", "Age", "", "${consent} = 'yes'", ". >= 0 and . <= 120", "", "", ""],
            [
                "select_multiple indicators",
                "indicators",
                "ຕົວຊີ້ວັດ",
                "Indicators",
                "",
                "${consent} = 'yes'",
                "",
                "",
                "",
                "",
            ],
            [
                "select_one_from_file provinces.csv",
                "province",
                "ແຂວງ",
                "Province",
                "",
                "",
                "",
                "",
                "",
                "",
                "scope_province",
            ],
            ["image", "photo", "ຮູບພາບ", "Photo", "", "", "", "", "max-pixels=1024", "yes"],
            ["begin_repeat", "route", "ເສັ້ນທາງ", "Route", "", "", "", "", "", ""],
            ["text", "place", "ສະຖານທີ່", "Place", "", "", "", "", "", ""],
            ["integer", "days", "ຈຳນວນມື້", "Days", "", "", "", "", "", ""],
            ["image", "place_photo", "ຮູບສະຖານທີ່", "Photo of the place", "", "", "", "", "max-pixels=1024", ""],
            ["end_repeat", "", "", "", "", "", "", "", "", ""],
        ],
    )
    sheet(
        wb,
        "choices",
        [
            ["list_name", "name", "label::Lao (lo)", "label::English (en)"],
            ["yes_no", "yes", "ແມ່ນ", "Yes"],
            ["yes_no", "no", "ບໍ່", "No"],
            ["indicators", "deception", "ການຫຼອກລວງ", "Deception"],
            ["indicators", "debt", "ໜີ້ສິນ", "Debt bondage"],
            ["indicators", "confiscation", "ຍຶດເອກະສານ", "Documents confiscated"],
        ],
    )
    sheet(
        wb,
        "settings",
        [
            ["form_id", "form_title", "version", "default_language"],
            ["sample_case", "Sample case", version, "Lao (lo)"],
        ],
    )
    wb.save(path)


def build_broken(path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    sheet(
        wb,
        "survey",
        [
            ["type", "name", "label"],
            ["text", "a", "A"],
            ["integer", "b", "B"],
            ["select_one missing_list", "c", "C"],
        ],
    )
    sheet(wb, "settings", [["form_id", "version"], ["broken", "1"]])
    wb.save(path)


if __name__ == "__main__":
    build_sample(HERE / "sample_case.xlsx")
    build_sample(HERE / "sample_case_v2.xlsx", version="2026120101")
    build_broken(HERE / "broken.xlsx")
