"""Shared test helpers (moved from tests/collector/test_jobs.py)."""

from __future__ import annotations

#: One woman recorded twice, in Vientiane Capital and in Savannakhet; a third record of someone else.
SAME = {
    "prs_FirstName": "ນ້ອຍ",
    "prs_SecondName": "ພົມມະຈັນ",
    "first_name_latin": "Noy",
    "second_name_latin": "Phommachanh",
    "prs_Gender": "Female",
    "birth_year": "2003",
    "prs_Birthdate": "2003-04-17",
    "birthdate_precision": "exact",
    "prs_MobilePhone": "020 5551 2345",
    "prs_MailingStreet": "ໂພນສະຫວັນ",
}


RECORDS = [
    ("uuid:job-a", {**SAME, "case_code": "01-aaaa1111", "interview_province": "01"}),
    (
        "uuid:job-b",
        {
            **SAME,
            "case_code": "13-bbbb2222",
            "interview_province": "13",
            "first_name_latin": "Noi",
            "prs_MobilePhone": "+856 20 5551 2345",
        },
    ),
    (
        "uuid:job-c",
        {
            **SAME,
            "case_code": "05-cccc3333",
            "interview_province": "05",
            "prs_FirstName": "ແສງ",
            "first_name_latin": "Seng",
            "prs_SecondName": "ສີວິໄລ",
            "second_name_latin": "Sivilay",
            "birth_year": "1990",
            "prs_Birthdate": "1990-02-02",
            "prs_MobilePhone": "030 999 8877",
            "prs_MailingStreet": "ນາຊາຍ",
        },
    ),
]
