"""Build tests/data/htcds_style.xlsx: a test XLSForm with HTCDS field names and the expressions such forms use.

No XLSForm of IOM's HTCDS exists under /work/shared/reference (only its field standards, HTCDS Field
Standards 2.0), so this form stands in for one: HTCDS 2.0 field names (prs_, vic_, cas_, org_) with skip logic,
constraints (regular expressions among them), calculations and choice filters of the kinds an HTCDS-based
case form has. Run by hand when it changes; the .xlsx is committed.
"""

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent

SURVEY = [
    [
        "type",
        "name",
        "label::Lao (lo)",
        "label::English (en)",
        "required",
        "relevant",
        "constraint",
        "calculation",
        "choice_filter",
        "trigger",
    ],
    [
        "date",
        "cas_IdentificationDate",
        "ວັນທີກຳນົດຕົວ",
        "Identification date",
        "yes",
        "",
        ". <= today() and . >= date('2000-01-01')",
        "",
        "",
        "",
    ],
    ["text", "cas_CaseId", "ລະຫັດກໍລະນີ", "Case ID", "yes", "", "regex(., '^[A-Z]{3}-[0-9]{4}-[0-9]{6}$')", "", "", ""],
    ["select_one gender", "prs_Gender", "ເພດ", "Gender", "yes", "", "", "", "", ""],
    [
        "text",
        "prs_GenderOther",
        "ເພດອື່ນ",
        "Other gender",
        "",
        "${prs_Gender} = 'Other'",
        "string-length(.) <= 50",
        "",
        "",
        "",
    ],
    ["date", "prs_Birthdate", "ວັນເກີດ", "Date of birth", "", "", ". < ${cas_IdentificationDate}", "", "", ""],
    [
        "calculate",
        "prs_Age",
        "",
        "",
        "",
        "${prs_Birthdate} != ''",
        "",
        "int((decimal-date-time(${cas_IdentificationDate}) - decimal-date-time(${prs_Birthdate})) div 365.25)",
        "",
        "",
    ],
    ["calculate", "prs_IsMinor", "", "", "", "", "", "if(${prs_Age} != '' and ${prs_Age} < 18, 'yes', 'no')", "", ""],
    ["calculate", "prs_GenderLabel", "", "", "", "", "", "jr:choice-name(${prs_Gender}, '${prs_Gender}')", "", ""],
    [
        "text",
        "prs_Email",
        "ອີເມວ",
        "Email",
        "",
        "",
        "regex(., '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$')",
        "",
        "",
        "",
    ],
    ["text", "prs_MobilePhone", "ເບີໂທ", "Mobile phone", "", "", "regex(., '^\\+?[0-9]{8,15}$')", "", "", ""],
    ["text", "org_ShippingPostalCode", "ລະຫັດໄປສະນີ", "Postal code", "", "", "regex(., '^[0-9]{5}$')", "", "", ""],
    ["text", "prs_NationalId", "ເລກບັດ", "ID document number", "", "", "regex(., '^(P|ID)[0-9]{6,9}$')", "", "", ""],
    [
        "select_multiple exploitation",
        "vic_TypeOfExploitation",
        "ປະເພດການຂູດຮີດ",
        "Type of exploitation",
        "yes",
        "",
        "not(selected(., 'Unknown') and count-selected(.) > 1)",
        "",
        "",
        "",
    ],
    [
        "select_one industry",
        "vic_ForcedLabourIndustry",
        "ອຸດສາຫະກຳ",
        "Industry",
        "",
        "selected(${vic_TypeOfExploitation}, 'ForcedLabour') or selected(${vic_TypeOfExploitation}, 'ChildLabour')",
        "",
        "",
        "exploitation = 'labour' or exploitation = 'any'",
        "",
    ],
    [
        "integer",
        "vic_MonthsExploited",
        "ຈຳນວນເດືອນ",
        "Months exploited",
        "",
        "count-selected(${vic_TypeOfExploitation}) >= 1",
        ". >= 0 and . <= 600",
        "",
        "",
        "",
    ],
    ["select_one case_status", "cas_Status", "ສະຖານະ", "Case status", "yes", "", "", "", "", ""],
    [
        "date",
        "cas_ClosedDate",
        "ວັນທີປິດ",
        "Date closed",
        "",
        "${cas_Status} = 'Closed' or ${cas_Status} = 'ClosedReferred'",
        ". >= ${cas_IdentificationDate}",
        "",
        "",
        "",
    ],
    [
        "text",
        "cas_Summary",
        "ສະຫຼຸບ",
        "Summary",
        "",
        "",
        "",
        "concat(${cas_CaseId}, ' ', ${prs_GenderLabel})",
        "",
        "${cas_CaseId}",
    ],
    ["calculate", "cas_Period", "", "", "", "", "", "format-date(${cas_IdentificationDate}, '%Y-%m')", "", ""],
]
CHOICES = [
    ["list_name", "name", "label::Lao (lo)", "label::English (en)", "exploitation"],
    ["gender", "Feminine", "ຍິງ", "Feminine", ""],
    ["gender", "Masculine", "ຊາຍ", "Masculine", ""],
    ["gender", "Other", "ອື່ນໆ", "Other", ""],
    ["exploitation", "ForcedLabour", "ແຮງງານບັງຄັບ", "Forced labour", ""],
    ["exploitation", "ChildLabour", "ແຮງງານເດັກ", "Child labour", ""],
    ["exploitation", "SexualExploitation", "ການຂູດຮີດທາງເພດ", "Sexual exploitation", ""],
    ["exploitation", "Unknown", "ບໍ່ຮູ້", "Unknown", ""],
    ["industry", "Agriculture", "ກະສິກຳ", "Agriculture", "labour"],
    ["industry", "Fishing", "ການປະມົງ", "Fishing", "labour"],
    ["industry", "Other", "ອື່ນໆ", "Other", "any"],
    ["case_status", "Active", "ກຳລັງດຳເນີນ", "Active", ""],
    ["case_status", "Closed", "ປິດແລ້ວ", "Closed", ""],
    ["case_status", "ClosedReferred", "ປິດ ແລະ ສົ່ງຕໍ່", "Closed and referred", ""],
]


def build(path: Path = HERE / "htcds_style.xlsx") -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in (
        ("survey", SURVEY),
        ("choices", CHOICES),
        (
            "settings",
            [
                ["form_id", "form_title", "version", "default_language"],
                ["htcds_style", "ແບບ HTCDS / HTCDS-style case", "1", "Lao (lo)"],
            ],
        ),
    ):
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


if __name__ == "__main__":
    build()
