"""Shared test helpers (moved from tests/ingest/persons/test_persons.py)."""

from __future__ import annotations

import itertools

from ingest.persons.matching import PersonRecord


def person(record_id, province, given, family, year, **more) -> PersonRecord:
    return PersonRecord(
        record_id=record_id,
        province_code=province,
        given_latin=given,
        family_latin=family,
        birth_year=str(year),
        sex=more.pop("sex", "F"),
        **more,
    )


#: Two persons with two cases each (clear duplicates), and strangers; all under 500: the shipped model scores.
SMALL = [
    person(
        "01-a",
        "01",
        "Somphone",
        "Vongsa",
        1998,
        given_lo="ສົມພອນ",
        family_lo="ວົງສາ",
        phone="020 5555 1234",
        home_village="ບ້ານໂພນສະຫວ່າງ",
        birth_date="1998-03-14",
        screening_date="2026-01-05",
    ),
    person(
        "02-a",
        "02",
        "Sompone",
        "Wongsa",
        1998,
        given_lo="ສົມພອນ",
        family_lo="ວົງສາ",
        phone="+856 20 55551234",
        home_village="ໂພນສະຫວ່າງ",
        birth_date="1998-03-14",
        screening_date="2026-02-11",
    ),
    person(
        "03-b",
        "03",
        "Keo",
        "Phommachanh",
        2001,
        given_lo="ແກ້ວ",
        family_lo="ພົມມະຈັນ",
        phone="02077778888",
        home_village="ບ້ານນາຊາຍ",
        birth_date="2001-07-02",
        screening_date="2026-01-20",
    ),
    person(
        "04-b",
        "04",
        "Kaeo",
        "Phommachan",
        2001,
        given_lo="ແກ້ວ",
        family_lo="ພົມມະຈັນ",
        phone="020 7777 8888",
        home_village="ນາຊາຍ",
        birth_date="2001-07-02",
        screening_date="2026-03-01",
    ),
    *(
        person(
            f"05-{i:02d}",
            "05",
            given,
            family,
            1980 + i,
            sex="M" if i % 2 else "F",
            screening_date=f"2026-0{1 + i % 9}-1{i % 10}",
        )
        for i, (given, family) in enumerate(
            itertools.product(
                ("Bounmy", "Chanthala", "Douangdy", "Inpeng", "Latsamy", "Manivone", "Noy", "Outhai"),
                ("Sayavong", "Keomany", "Luangrath", "Sisouk"),
            )
        )
    ),
    # No name at all: skipped and counted. Names in neither Lao nor Latin script (Thai): kept, never crashes.
    PersonRecord(record_id="06-x", province_code="06", sex="F", birth_year="1999", phone="020 1111 2222"),
    PersonRecord(
        record_id="06-y", province_code="06", given_latin="สมชาย", family_latin="ใจดี", sex="M", birth_year="1990"
    ),
    PersonRecord(record_id="07-y", province_code="07", given_lo="สมชาย", family_lo="ใจดี", sex="M", birth_year="1990"),
]
