"""Paper forms carry every code of the lists their questions use: districts by province, countries."""

from __future__ import annotations

import csv
import io
import re

from pypdf import PdfReader

from forms import BUNDLED_FORMS_DIR, BUNDLED_MEDIA_DIR
from forms.handbook.model import FormSource, build_book
from forms.handbook.render import render_html, write_pdf
from tests.support.handbook import MEDIA, squash


def rows(name: str) -> list[dict]:
    with (BUNDLED_MEDIA_DIR / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_screening_paper_form_lists_every_district_and_country_province_05_first():
    book = build_book(FormSource((BUNDLED_FORMS_DIR / "screening.xlsx").read_bytes(), media=MEDIA))
    pdf = write_pdf(render_html([book], paper=True, province="05"))
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    text = "\n".join(pages)
    codes = set(re.findall(r"(?m)^(\d{4}) ", text))
    districts = rows("districts.csv")
    assert len(districts) == 148 and codes >= {d["name"] for d in districts}
    flat = squash(text)
    for district in districts:
        assert squash(f"{district['name']}{district['label_lo']}·{district['label_en']}") in flat
    for country in rows("countries.csv"):
        assert squash(f"{country['name']}") in flat and squash(country["label_en"]) in flat
    assert squash("Write the code from list B at the end of this form (districts.csv)") in flat
    # province 05's districts come first in the list of districts
    district_list = flat[flat.index(squash("List B")) :]
    assert district_list.index(squash("0501")) < district_list.index(squash("0101"))
