"""The person record the matcher reads, and its derived comparison keys."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, fields
from pathlib import Path

from ingest.persons.matching.lao import is_lao, normalise_name, normalise_village, spelling_key
from ingest.persons.matching.phone import normalise_phone
from ingest.persons.matching.romanise import fold_latin, name_key

_YEAR = re.compile(r"^\s*(\d{4})")
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")


@dataclass
class PersonRecord:
    """One record of a person as the case register (or a partner's list) holds it."""

    record_id: str
    province_code: str = ""
    district_code: str = ""
    given_lo: str = ""
    family_lo: str = ""
    given_latin: str = ""
    family_latin: str = ""
    sex: str = ""
    #: documented, or estimated from a reported age
    birth_year: str = ""
    #: ``YYYY-MM-DD``; ``YYYY-01-01`` is usually a placeholder for an unknown date
    birth_date: str = ""
    home_village: str = ""
    phone: str = ""
    screening_date: str = ""

    def has_name(self) -> bool:
        """Tell whether the record carries any name to match on."""
        return any(value.strip() for value in (self.given_lo, self.family_lo, self.given_latin, self.family_latin))


FIELDS = [f.name for f in fields(PersonRecord)]


def read_records(path: str | Path) -> list[PersonRecord]:
    """Read records from a CSV file in the development set's format (unknown columns are ignored).

    :raise ValueError: when the file has no ``record_id`` column.
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if "record_id" not in (reader.fieldnames or []):
            raise ValueError("the file has no record_id column")
        return [PersonRecord(**{k: (row.get(k) or "").strip() for k in FIELDS}) for row in reader]


def _birth(record: PersonRecord) -> tuple[int | None, str | None]:
    """Return the birth year and, when it looks real (not a 1 January placeholder), the birth date."""
    date = _DATE.match(record.birth_date or "")
    year = _YEAR.match(record.birth_year or "") or date
    real = date if date is not None and (date.group(2), date.group(3)) != ("01", "01") else None
    return (int(year.group(1)) if year else None), (real.group(0).strip() if real else None)


def _name_parts(lao: str, latin: str) -> dict:
    lao_n = normalise_name(lao) if is_lao(lao) else ""
    key = spelling_key(lao_n) or fold_latin(latin) or None
    # sw repeats sk under another name, for the level that compares a name with the other part:
    # splink leaves a comparison out of EM when a blocking rule uses one of its columns.
    return {
        "lo": lao_n or None,
        "typed": latin.strip() or None,
        "sk": key,
        "sw": key,
        "rk": name_key(lao, latin) or None,
        "tk": fold_latin(latin) or None,
    }


def features(record: PersonRecord) -> dict:
    """Return the comparison keys of a record (None where a value is missing)."""
    given = _name_parts(record.given_lo, record.given_latin)
    family = _name_parts(record.family_lo, record.family_latin)
    year, date = _birth(record)
    village = normalise_village(record.home_village)
    sex = (record.sex or "").strip().upper()[:1]
    return {
        "unique_id": record.record_id,
        **{f"given_{k}": v for k, v in given.items()},
        **{f"family_{k}": v for k, v in family.items()},
        "full_lo": " ".join(filter(None, (given["lo"], family["lo"]))) or None,
        "full_typed": " ".join(filter(None, (given["typed"], family["typed"]))) or None,
        "sex": sex if sex in ("F", "M") else None,
        "birth_year": year,
        "birth_date": date,
        "village": village or None,
        "village_sk": spelling_key(village) or None,
        "phone": normalise_phone(record.phone) or None,
        "province": record.province_code or None,
        "district": record.district_code or None,
        "screened": record.screening_date or None,
    }
